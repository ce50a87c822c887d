"""Faults a run must survive or report cleanly, with real ``volt-agent`` processes.

The cases share the session's throwaway Temporal dev server and isolate themselves with a
task queue and output folder each. Activity timeouts are short here (``ACTIVITY_TIMEOUT``) so
that work lost with a killed worker is retried within seconds rather than minutes.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import signal
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from tests.e2e._support import (
    cli_env,
    client_of,
    eventually,
    json_files_parse,
    run_cli,
    worker_process,
    write_config,
)
from tests.integration.pipeline_env import WEEK, pipeline_env, workspace
from volt_agent.demo import sandbox_timezones
from volt_agent.domain.local_time import local_date
from volt_agent.domain.models import EnrichedData, RawTogglData, TogglAggregated
from volt_agent.pipeline.devserver import DevServer
from volt_agent.pipeline.service import query_progress, workflow_id_for
from volt_agent.pipeline.types import Progress
from volt_agent.sandbox import (
    FaultPlan,
    FaultRule,
    FiberySimulatorOptions,
    Simulators,
    TogglSimulatorOptions,
    run_simulators,
)
from volt_agent.storage.run_folder import ENRICHED_DATA, RAW_TOGGL, TOGGL_AGGREGATED

pytestmark = pytest.mark.e2e

ACTIVITY_TIMEOUT = 8
RUN_TIMEOUT = 120


def fast_sections(server: DevServer, **overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Config sections for quick e2e runs on ``server`` (own task queue, fast retries)."""
    sections: dict[str, dict[str, Any]] = {
        "temporal": {"address": server.address, "task_queue": f"e2e-{uuid.uuid4()}"},
        "toggl": {"requests_per_second": 50},
        "fibery": {"requests_per_second": 50},
        "http": {"backoff_initial_seconds": 0.05, "backoff_max_seconds": 2, "max_retries": 5},
        "retry": {
            "initial_interval_seconds": 0.5,
            "maximum_interval_seconds": 2,
            "maximum_attempts": 10,
            "activity_timeout_seconds": ACTIVITY_TIMEOUT,
            "heartbeat_timeout_seconds": 5,
        },
    }
    for section, values in overrides.items():
        sections.setdefault(section, {}).update(values)
    return sections


def week_args(run_id: str, config: Path, *extra: str) -> list[str]:
    return [
        "run",
        "--start-date",
        WEEK[0],
        "--end-date",
        WEEK[1],
        "--run-id",
        run_id,
        "--config",
        str(config),
        *extra,
    ]


def expected_week() -> list[Any]:
    """The week's entries on their owners' local days (``write_config`` sets every zone)."""
    ws = workspace()
    zones = sandbox_timezones(ws)
    emails = {u.id: u.email.lower() for u in ws.toggl_users}
    first, last = (date.fromisoformat(d) for d in WEEK)
    return [
        e for e in ws.time_entries if first <= local_date(e.start, zones[emails[e.user_id]]) <= last
    ]


async def start_detached(run_id: str, config: Path, env: dict[str, str], cwd: Path) -> None:
    done = await asyncio.to_thread(
        run_cli, week_args(run_id, config, "--no-worker", "--detach"), env, cwd
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"volt-agent show-run {run_id} --follow" in done.stdout


async def finished(client: Client, run_id: str) -> WorkflowHandle[Any, Any]:
    handle = client.get_workflow_handle(workflow_id_for(run_id))
    await asyncio.wait_for(handle.result(), RUN_TIMEOUT)
    return handle


# ------------------------------------------------------------------------ worker killed


@pytest.fixture
def slow_fibery() -> Iterator[Simulators]:
    """Every Fibery answer takes 0.4-0.6 s, so enrichment lasts long enough to be hit."""
    with run_simulators(
        workspace(), fibery=FiberySimulatorOptions(latency_seconds=(0.4, 0.6))
    ) as sims:
        yield sims


@pytest.mark.timeout(240)
async def test_worker_killed_mid_enrichment_is_replaced_and_loses_nothing(
    temporal_dev_server: DevServer, slow_fibery: Simulators, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path, slow_fibery, **fast_sections(temporal_dev_server, fibery={"batch_size": 3})
    )
    env = cli_env(tmp_path, slow_fibery)
    client = await client_of(temporal_dev_server.address)

    with worker_process(config, env, tmp_path / "worker-a.log") as first:
        await start_detached("killed", config, env, tmp_path)
        handle = client.get_workflow_handle(workflow_id_for("killed"))
        seen: list[Progress] = []

        async def mid_enrichment() -> bool:
            progress = await query_progress(handle)
            seen.append(progress)
            done = sum(t.done for t in progress.details.values())
            total = sum(t.total for t in progress.details.values())
            return progress.current_activity == "enrich_entities" and 0 < done < total

        await eventually(mid_enrichment, 60, "enrichment to be under way")
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL

    with worker_process(config, env, tmp_path / "worker-b.log"):
        await finished(client, "killed")
        await start_detached("undisturbed", config, env, tmp_path)
        await finished(client, "undisturbed")

    runs = tmp_path / "runs"
    killed = json.loads((runs / "killed" / "run_metadata.json").read_text())
    assert killed["status"] == "completed", killed["error"]
    history = await handle.fetch_history()
    retried = Counter(
        history.events[
            e.activity_task_started_event_attributes.scheduled_event_id - 1
        ].activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.attempt > 1
    )
    assert any(name.startswith(("enrich_", "default_enrich")) for name in retried), retried
    crashed = (runs / "killed" / ENRICHED_DATA).read_bytes()
    assert crashed == (runs / "undisturbed" / ENRICHED_DATA).read_bytes()
    enriched = EnrichedData.model_validate_json(crashed)
    assert len(enriched.entities) == killed["statistics"]["enrichment"]["entities"] > 0
    json_files_parse(runs)


# -------------------------------------------------------------------- flaky upstream APIs


@pytest.mark.timeout(180)
async def test_ten_percent_5xx_and_periodic_429_still_give_exact_totals(
    temporal_dev_server: DevServer, tmp_path: Path
) -> None:
    def flaky(seed: int) -> FaultPlan:
        return FaultPlan(
            rules=(
                FaultRule(kind="status", status=503, probability=0.1),
                FaultRule(kind="status", status=429, retry_after=1, every_n=6),
            ),
            seed=seed,
        )

    toggl = TogglSimulatorOptions(faults=flaky(1))
    fibery = FiberySimulatorOptions(faults=flaky(2))
    with run_simulators(workspace(), toggl=toggl, fibery=fibery) as sims:
        config = write_config(
            tmp_path,
            sims,
            **fast_sections(temporal_dev_server, toggl={"page_size": 25}, fibery={"batch_size": 3}),
        )
        done = await asyncio.to_thread(
            run_cli, week_args("flaky", config), cli_env(tmp_path, sims), tmp_path, 150
        )
        toggl_stats, fibery_stats = sims.toggl.stats(), sims.fibery.stats()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "completed" in done.stdout
    for stats in (toggl_stats, fibery_stats):
        assert stats["requests"] >= 15
        assert stats["status.429"] >= 1
    assert toggl_stats["status.503"] + fibery_stats["status.503"] >= 2

    folder = tmp_path / "runs" / "flaky"
    week = expected_week()
    raw = RawTogglData.model_validate_json((folder / RAW_TOGGL).read_bytes())
    assert sorted(e.id for e in raw.entries) == sorted(e.id for e in week)
    aggregated = TogglAggregated.model_validate_json((folder / TOGGL_AGGREGATED).read_bytes())
    assert aggregated.statistics.total_seconds == sum(e.seconds for e in week)
    assert aggregated.statistics.entry_count == len(week)
    enriched = EnrichedData.model_validate_json((folder / ENRICHED_DATA).read_bytes())
    deleted = {(d.type_key, d.public_id) for d in workspace().deleted_refs}
    for entity in enriched.entities:
        if entity.type_key == "Unknown/Unknown":
            continue
        key = (entity.type_key, entity.public_id)
        assert entity.status == ("not_found" if key in deleted else "found"), entity.error
    json_files_parse(folder)


# ------------------------------------------------------------ output that cannot be written


@pytest.mark.timeout(120)
async def test_a_report_folder_that_cannot_be_created_fails_the_run_cleanly(
    temporal_dev_server: DevServer, tmp_path: Path
) -> None:
    """A file named ``reports`` in the run folder: root cannot create the folder either."""
    folder = tmp_path / "runs" / "blocked"
    folder.mkdir(parents=True)
    (folder / "reports").write_text("a file where the reports folder must go\n")
    with run_simulators(workspace()) as sims:
        config = write_config(tmp_path, sims, **fast_sections(temporal_dev_server))
        done = await asyncio.to_thread(
            run_cli, week_args("blocked", config), cli_env(tmp_path, sims), tmp_path
        )
    assert done.returncode == 1, done.stdout + done.stderr
    meta = json.loads((folder / "run_metadata.json").read_text())
    assert meta["status"] == "failed"
    assert meta["stages_failed"] == ["toggl"]
    target = folder / "reports" / "toggl_summary.md"
    assert meta["error"] == f"cannot write {target}: File exists"  # the OS reason, one line
    assert f"error: {meta['error']}" in done.stdout
    assert sorted(p.name for p in json_files_parse(folder)) == [
        "raw_toggl_data.json",
        "run_metadata.json",
        "toggl_aggregated.json",
    ]


@pytest.mark.timeout(120)
async def test_disk_full_while_saving_enriched_data_fails_the_run_with_the_reason(
    temporal_client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No tiny filesystem here: the worker's fsync of ``enriched_data.json`` hits ENOSPC.

    The worker runs in this process (``pipeline_env``), so the fault is injected at the OS
    call the atomic writer makes; everything else about the run is real.
    """
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if f".{ENRICHED_DATA}." in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    async with pipeline_env(temporal_client, tmp_path) as env:
        folder, meta = await env.run()
    assert meta.status == "failed"
    assert (meta.stages_completed, meta.stages_failed) == (["toggl"], ["fibery"])
    assert meta.error == f"cannot write {folder.file(ENRICHED_DATA)}: No space left on device"
    assert not folder.exists(ENRICHED_DATA)
    files = {p.name for p in json_files_parse(folder.path)}
    assert {"run_metadata.json", "raw_toggl_data.json", "toggl_aggregated.json"} <= files
