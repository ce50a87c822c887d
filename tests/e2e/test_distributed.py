"""Issue 10 acceptance: three workers with no shared disk, two runs, one worker killed.

A moto S3 server holds the run folders; three ``volt-agent worker`` processes, each in its own
empty working directory, poll the shared queue and the Toggl/Fibery queues with the same
config (``api_queues.workers: 3``: each sends a third of each per-token limit). Two runs are
started with ``--no-worker`` by a process without API tokens; the worker running an
enrichment activity is SIGKILLed. Both runs must equal a single-worker local run of the same
workspace byte for byte, lose no entry, and keep the simulators' peak request rates within
the limits (which the simulators enforce with 429s).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from tests.e2e._support import cli_env, client_of, eventually, run_cli, worker_process, write_config
from tests.e2e.test_fault_tolerance import expected_week, fast_sections, start_detached, week_args
from tests.integration.pipeline_env import workspace
from tests.s3_server import MotoServer
from volt_agent.domain.models import RawTogglData
from volt_agent.pipeline.devserver import DevServer
from volt_agent.pipeline.service import query_progress, workflow_id_for
from volt_agent.sandbox import (
    FiberySimulatorOptions,
    Simulators,
    TogglSimulatorOptions,
    run_simulators,
)
from volt_agent.storage.run_folder import ENRICHED_DATA, RAW_TOGGL

pytestmark = pytest.mark.e2e

WORKERS = 3
TOGGL_RPS = 2.0
FIBERY_RPS = 3.0
FIBERY_WORKSPACE_RPS = 7.0
BURST = WORKERS
"""Each worker's client lets one request through at once, so together they may send one
request per worker at once: the simulators' buckets hold that many (docs/TEMPORAL.md)."""
RUNS = ("north", "south")


def sections(server: DevServer) -> dict[str, dict[str, Any]]:
    """One deployment's config sections (one shared task queue): compute once per test."""
    return fast_sections(
        server,
        toggl={"requests_per_second": TOGGL_RPS, "page_size": 100},
        fibery={"requests_per_second": FIBERY_RPS, "batch_size": 8},
        api_queues={"workers": WORKERS},
        metrics={"enabled": False},
    )


def config_in(folder: Path, sims: Simulators | None, config: dict[str, dict[str, Any]]) -> Path:
    folder.mkdir(parents=True)
    return write_config(folder, sims, **config)


async def reference_run(
    sims: Simulators, config_sections: dict[str, dict[str, Any]], tmp_path: Path
) -> bytes:
    """``enriched_data.json`` of one local run with its in-process worker (local folder)."""
    config = config_in(tmp_path / "reference", sims, config_sections)
    done = await asyncio.to_thread(
        run_cli, week_args("reference", config), cli_env(config.parent, sims), config.parent, 150
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return (config.parent / "runs" / "reference" / ENRICHED_DATA).read_bytes()


async def kill_a_worker_mid_enrichment(client: Client, procs: list[subprocess.Popen[bytes]]) -> int:
    """SIGKILL the worker running an enrichment activity of either run while that run still
    has batches to do after it; returns its pid. Any running batch counts, the first too:
    waiting for one to have finished as well made the window short enough for a loaded CI
    machine's polls to miss it (a 90 s time-out at stop 17)."""
    by_pid = {proc.pid: proc for proc in procs}
    victim: list[int] = []

    async def enriching() -> bool:
        for run_id in RUNS:
            handle = client.get_workflow_handle(workflow_id_for(run_id))
            progress = await query_progress(handle)
            done = sum(t.done for t in progress.details.values())
            total = sum(t.total for t in progress.details.values())
            if progress.current_activity != "enrich_entities" or done >= total - 2:
                continue
            for pending in (await handle.describe()).raw_description.pending_activities:
                pid = int(pending.last_worker_identity.partition("@")[0] or 0)
                if pending.activity_type.name.startswith(("enrich_", "default_enrich")) and (
                    pid in by_pid
                ):
                    victim.append(pid)
                    return True
        return False

    await eventually(enriching, 90, "an enrichment activity running on a worker", 0.2)
    proc = by_pid[victim[0]]
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL
    return victim[0]


def scheduled_queues(events: Any) -> dict[str, set[str]]:
    """Activity type → the task queues it was scheduled on."""
    queues: dict[str, set[str]] = {}
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            queues.setdefault(attrs.activity_type.name, set()).add(attrs.task_queue.name)
    return queues


def retried_activities(events: Any) -> set[str]:
    """Activity types with an attempt after the first (the killed worker's work)."""
    return {
        events[
            e.activity_task_started_event_attributes.scheduled_event_id - 1
        ].activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.attempt > 1
    }


def assert_within_limits(stats: dict[str, int], rps: float, what: str) -> None:
    """Every 1 s and 10 s window (per token and in total) within the limit plus the burst."""
    peaks = {key: value for key, value in stats.items() if key.startswith("peak_")}
    assert peaks, f"{what}: no peaks recorded"
    for key, value in peaks.items():
        window = 1 if key.startswith("peak_1s") else 10
        assert value <= rps * window + BURST, f"{what} {key} = {value}: {stats}"


@pytest.mark.timeout(300)
async def test_three_workers_on_s3_two_runs_one_killed_within_the_api_limits(
    temporal_dev_server: DevServer, s3_server: MotoServer, tmp_path: Path
) -> None:
    started = time.monotonic()
    toggl = TogglSimulatorOptions(requests_per_second=TOGGL_RPS, burst=BURST)
    fibery = FiberySimulatorOptions(
        requests_per_second=FIBERY_RPS,
        burst=BURST,
        workspace_requests_per_second=FIBERY_WORKSPACE_RPS,
    )
    with run_simulators(workspace(), toggl=toggl, fibery=fibery) as sims:
        deployment = sections(temporal_dev_server)
        reference = await reference_run(sims, deployment, tmp_path)
        sims.toggl.reset_stats()
        sims.fibery.reset_stats()

        bucket = s3_server.new_bucket()
        storage = {"VOLT_AGENT_STORAGE_URL": f"s3://{bucket}/volt", **s3_server.env()}
        starter = config_in(tmp_path / "starter", None, deployment)
        starter_env = cli_env(starter.parent, None, **storage)  # no Toggl/Fibery token
        client = await client_of(temporal_dev_server.address)
        with contextlib.ExitStack() as stack:
            procs = []
            for index in range(WORKERS):
                home = tmp_path / f"worker-{index}"
                config = config_in(home / "config", sims, deployment)
                cwd = home / "cwd"
                cwd.mkdir()
                log = home / "worker.log"
                env = cli_env(home, sims, **storage)
                procs.append(stack.enter_context(worker_process(config, env, log, cwd)))
            await asyncio.gather(
                *(start_detached(run_id, starter, starter_env, starter.parent) for run_id in RUNS)
            )
            killed = await kill_a_worker_mid_enrichment(client, procs)
            handles: list[WorkflowHandle[Any, Any]] = [
                client.get_workflow_handle(workflow_id_for(run_id)) for run_id in RUNS
            ]
            await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 150)
        toggl_stats, fibery_stats = sims.toggl.stats(), sims.fibery.stats()
    wall = time.monotonic() - started

    week = sorted(e.id for e in expected_week())
    retried: set[str] = set()
    for run_id, handle in zip(RUNS, handles, strict=True):
        meta = json.loads(s3_server.object(bucket, f"volt/{run_id}/run_metadata.json") or b"{}")
        assert meta["status"] == "completed", meta.get("error")
        assert s3_server.object(bucket, f"volt/{run_id}/{ENRICHED_DATA}") == reference, run_id
        raw = RawTogglData.model_validate_json(
            s3_server.object(bucket, f"volt/{run_id}/{RAW_TOGGL}") or b""
        )
        assert sorted(e.id for e in raw.entries) == week, run_id
        events = (await handle.fetch_history()).events
        retried |= retried_activities(events)
        queues = scheduled_queues(events)
        shared = deployment["temporal"]["task_queue"]
        assert queues["fetch_toggl_data"] == {f"{shared}-toggl"}
        assert queues["extract_fibery_entities"] == {f"{shared}-fibery"}
        enrich = {k: v for k, v in queues.items() if k.startswith(("enrich_", "default_enrich"))}
        assert enrich, queues
        assert all(v == {f"{shared}-fibery"} for v in enrich.values()), queues
        assert queues["generate_team_report"] == {shared}
    assert any(name.startswith(("enrich_", "default_enrich")) for name in retried), retried
    left = [p for i in range(WORKERS) for p in (tmp_path / f"worker-{i}" / "cwd").iterdir()]
    assert left == []  # the workers keep nothing on their own disks

    print(f"\nkilled worker pid {killed}; wall {wall:.1f} s")  # for the record (pytest -s)
    print(f"toggl {toggl_stats}\nfibery {fibery_stats}")
    assert_within_limits(toggl_stats, TOGGL_RPS, "toggl")
    assert_within_limits(fibery_stats, FIBERY_RPS, "fibery")
    for stats in (toggl_stats, fibery_stats):
        assert stats.get("status.429", 0) == stats["rate_limited"] == 0, stats
