"""A Temporal Schedule created against the dev server fires (trigger-now) a real run whose
dates come from the window at run time and whose run id is its own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest
import yaml
from temporalio.client import Client
from typer.testing import CliRunner

from tests.integration.pipeline_env import pipeline_env
from volt_agent.cli import app
from volt_agent.config import Settings
from volt_agent.errors import UserInputError
from volt_agent.pipeline.devserver import DevServer
from volt_agent.sandbox import WorkspaceSpec, generate_workspace
from volt_agent.schedules import service as schedules
from volt_agent.schedules.service import ScheduleExistsError, ScheduleNotFoundError
from volt_agent.schedules.windows import window_dates
from volt_agent.schedules.workflow import ScheduledPipeline
from volt_agent.storage.run_folder import RunFolder
from volt_agent.storage.run_metadata import load_metadata

pytestmark = pytest.mark.integration

TZ = "Europe/Berlin"
runner = CliRunner()
T = TypeVar("T")


async def _wait_for(probe: Callable[[], Awaitable[T]], seconds: float = 15.0) -> T:
    """``probe()``'s first truthy answer, or its last answer after ``seconds``."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        found = await probe()
        if found or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_schedule_trigger_runs_the_pipeline(temporal_client: Client, tmp_path: Path) -> None:
    start, end = window_dates("last-week", datetime.now(ZoneInfo(TZ)).date())
    ws = generate_workspace(WorkspaceSpec(users=4, days=7, start_date=start))
    name = f"weekly-{uuid.uuid4().hex[:8]}"
    async with pipeline_env(temporal_client, tmp_path, ws=ws) as env:
        created = await schedules.create_schedule(
            temporal_client,
            env.settings,
            name=name,
            cron="0 7 * * MON",
            window="last-week",
            users=",".join(u.email for u in ws.toggl_users[:2]),
            timezone=TZ,
        )
        try:
            assert created.cron == "0 7 * * MON"
            assert created.window == "last-week"
            assert created.next_runs
            assert created.next_runs[0].astimezone(ZoneInfo(TZ)).hour == 7
            with pytest.raises(ScheduleExistsError):
                await schedules.create_schedule(
                    temporal_client, env.settings, name=name, cron="0 7 * * *", window="yesterday"
                )

            async def listed() -> bool:
                return name in {s.name for s in await schedules.list_schedules(temporal_client)}

            assert await _wait_for(listed), "the schedule never showed in schedule list"

            await schedules.trigger_schedule(temporal_client, name)

            async def fired() -> list[schedules.RecentRun]:
                return (await schedules.describe_schedule(temporal_client, name)).recent_runs

            recent = await _wait_for(fired)
            assert recent, "trigger did not start a run"
            parent = temporal_client.get_workflow_handle_for(
                ScheduledPipeline.run, recent[0].workflow_id
            )
            result = await asyncio.wait_for(parent.result(), 45)
        finally:
            await schedules.delete_schedule(temporal_client, name)

    assert (result.start_date, result.end_date) == (start.isoformat(), end.isoformat())
    assert result.run_id.startswith(f"{name}_")
    assert result.workflow_id == f"toggl-fibery-{result.run_id}"
    stamp = datetime.strptime(result.run_id.removeprefix(f"{name}_") + "Z", "%Y-%m-%d-%H-%M-%S%z")
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 120
    meta = load_metadata(RunFolder(env.settings.output_dir, result.run_id))
    assert meta is not None
    assert meta.status == "completed", meta.error
    assert meta.parameters["start_date"] == start.isoformat()
    assert meta.parameters["users"] == [u.email for u in ws.toggl_users[:2]]
    assert meta.statistics["toggl"]["entries"] > 0
    with pytest.raises(ScheduleNotFoundError):
        await schedules.delete_schedule(temporal_client, name)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "../x"}, "invalid schedule name"),
        ({"window": "last-year"}, "--window must be one of"),
        ({"timezone": "Mars/Base"}, "unknown time zone"),
        ({"cron": "every tuesday"}, "invalid schedule"),
        ({"users": "nobody"}, "expects emails"),
    ],
)
async def test_bad_schedules_are_refused(
    temporal_client: Client, tmp_path: Path, kwargs: dict[str, str], message: str
) -> None:
    args = {"name": f"bad-{uuid.uuid4().hex[:6]}", "cron": "0 7 * * MON", "window": "last-week"}
    args.update(kwargs)
    with pytest.raises(UserInputError, match=message):
        await schedules.create_schedule(temporal_client, Settings(), **args)  # type: ignore[arg-type]


async def test_schedule_cli_create_list_delete(
    temporal_dev_server: DevServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "output_dir": str(tmp_path / "runs"),
                "data_dir": str(tmp_path / "data"),
                "temporal": {"dev_server_port": temporal_dev_server.port},
            }
        )
    )
    name = f"cli-{uuid.uuid4().hex[:8]}"

    async def cli(*args: str) -> tuple[int, str]:
        result = await asyncio.to_thread(runner.invoke, app, [*args, "--config", str(config)])
        return result.exit_code, result.output

    code, output = await cli(
        "schedule", "create", name, "--cron", "30 6 * * *", "--window", "yesterday", "--paused"
    )
    assert code == 0, output
    assert f"schedule {name} created" in output
    try:
        for _ in range(50):
            code, output = await cli("schedule", "list")
            if name in output:
                break
            await asyncio.sleep(0.2)
        row = next(line for line in output.splitlines() if line.startswith(name))
        assert row.split("\t")[1:6] == ["30 6 * * *", "UTC", "yesterday", "all", "paused"]
        code, output = await cli(
            "schedule", "create", name, "--cron", "0 1 * * *", "--window", "yesterday"
        )
        assert code == 2
        assert "already exists" in output
        code, output = await cli(
            "schedule", "create", "x2", "--cron", "61 * * * *", "--window", "yesterday"
        )
        assert code == 2
        assert len(output.strip().splitlines()) <= 2  # one message, wrapped at most once
    finally:
        code, output = await cli("schedule", "delete", name)
    assert code == 0, output
    code, output = await cli("schedule", "delete", name)
    assert code == 2
    assert f"no schedule named '{name}'" in output
