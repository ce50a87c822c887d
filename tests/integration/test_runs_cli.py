"""``list-runs``, ``show-run``, ``cancel-run`` and ``temporal-ui`` as a user runs them, against
the session's dev server: folder statuses reconciled with what Temporal knows."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from temporalio.client import Client, WorkflowExecutionStatus
from typer.testing import CliRunner

from volt_agent.cli import app
from volt_agent.config import Settings
from volt_agent.pipeline.devserver import DevServer
from volt_agent.pipeline.service import prepare_run, start_run
from volt_agent.storage.run_folder import RunFolder
from volt_agent.storage.run_metadata import RunMetadata

pytestmark = pytest.mark.integration

runner = CliRunner()
T0 = datetime(2026, 11, 23, 7, tzinfo=UTC)


def write_run(output_dir: Path, run_id: str, status: str, minutes: int) -> None:
    created = T0 + timedelta(minutes=minutes)
    RunFolder(output_dir, run_id).save(
        "run_metadata.json",
        RunMetadata(
            run_id=run_id,
            workflow_id=f"toggl-fibery-{run_id}",
            created_at=created,
            updated_at=created,
            finished_at=created + timedelta(seconds=95) if status != "in_progress" else None,
            status=status,  # type: ignore[arg-type]
            parameters={"start_date": "2026-11-16", "end_date": "2026-11-22", "users": None},
            stages_completed=["toggl", "fibery"] if status == "completed" else [],
            warnings=["zero_entries: nothing fetched"] if status == "completed" else [],
        ),
    )


@pytest.fixture
def cli_config(
    temporal_dev_server: DevServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    monkeypatch.chdir(tmp_path)
    config = {
        "output_dir": str(tmp_path / "runs"),
        "data_dir": str(tmp_path / "data"),
        "temporal": {
            "dev_server_port": temporal_dev_server.port,
            "dev_server_ui_port": 18233,
            "task_queue": f"cli-{uuid.uuid4()}",
        },
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, Settings.model_validate(config)


async def cli(*args: str) -> tuple[int, str]:
    result = await asyncio.to_thread(runner.invoke, app, list(args))
    return result.exit_code, result.output


async def test_list_show_cancel_and_ui(
    cli_config: tuple[Path, Settings], temporal_client: Client
) -> None:
    config, settings = cli_config
    out = settings.output_dir
    write_run(out, "done-1", "completed", 0)
    write_run(out, "killed-2", "in_progress", 10)
    write_run(out, "live-3", "in_progress", 20)
    handles = {}
    for run_id in ("killed-2", "live-3"):  # no worker polls this queue: they stay running
        params = prepare_run(  # the folder written above stands for this very run
            settings, start_date="2026-11-16", end_date="2026-11-22", run_id=run_id, force=True
        )
        handles[run_id] = await start_run(temporal_client, params, settings.temporal.task_queue)
    await handles["killed-2"].terminate("operator pulled the plug")
    try:
        code, output = await cli("list-runs", "--config", str(config))
        assert code == 0, output
        # not a terminal: one tab-separated line per run, nothing cut short
        header, *rows = output.splitlines()
        assert header.split("\t")[:2] == ["run id", "status"]
        lines = {row.split("\t")[0]: row.split("\t") for row in rows}
        assert lines["done-1"][1:4] == ["completed", "2026-11-23 07:00:00", "1m 35s"]
        assert lines["done-1"][4:] == ["2026-11-16..2026-11-22", "toggl fibery", "1"]
        assert lines["killed-2"][1] == "failed (folder: in_progress)"
        assert lines["live-3"][1] == "in_progress"
        assert output.index("live-3") < output.index("killed-2") < output.index("done-1")

        code, output = await cli("list-runs", "--status", "failed", "--config", str(config))
        assert code == 0
        assert "killed-2" in output
        assert "done-1" not in output
        assert "live-3" not in output
        code, output = await cli("list-runs", "--limit", "1", "--config", str(config))
        assert "live-3" in output
        assert "killed-2" not in output
        code, output = await cli("list-runs", "--status", "weird", "--config", str(config))
        assert code == 2
        assert "--status must be one of" in output

        code, output = await cli("show-run", "killed-2", "--config", str(config))
        assert code == 0, output
        assert "failed" in output
        assert "workflow terminated" in output
        assert "run_metadata.json says in_progress" in output
        code, output = await cli("show-run", "done-1", "--config", str(config))
        assert "warning: zero_entries" in output
        code, output = await cli("show-run", "nope", "--config", str(config))
        assert code == 2
        assert "no run nope" in output

        code, output = await cli("cancel-run", "live-3", "--config", str(config))
        assert code == 0, output
        assert "cancellation of run live-3 requested" in output
        description = await handles["live-3"].describe()
        assert description.status == WorkflowExecutionStatus.RUNNING  # no worker to act yet
        code, output = await cli("cancel-run", "killed-2", "--config", str(config))
        assert code == 2
        assert "is not running (it is failed)" in output
        code, output = await cli("cancel-run", "done-1", "--config", str(config))
        assert code == 2
        assert "no workflow for run done-1" in output

        code, output = await cli("temporal-ui", "--run-id", "live-3", "--config", str(config))
        assert code == 0
        assert output.strip() == (
            "http://127.0.0.1:18233/namespaces/default/workflows/toggl-fibery-live-3"
        )
    finally:
        await handles["live-3"].terminate("test done")


async def test_list_runs_without_temporal_shows_folders(
    cli_config: tuple[Path, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, settings = cli_config
    write_run(settings.output_dir, "orphan-1", "in_progress", 0)
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:9")
    code, output = await cli("list-runs", "--config", str(config))
    assert code == 0, output
    assert "orphan-1" in output
    assert "in_progress" in output
    assert "not reconciled with Temporal" in output
    code, output = await cli("temporal-ui", "--config", str(config))
    assert code == 2
    assert "TEMPORAL_UI_URL" in output
