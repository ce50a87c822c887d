"""The Temporal server restarts in the middle of a run; the run still completes.

The server is this test's own (``DevServer`` on a database in ``tmp_path``): stopped and
started again on the same ports and database while enrichment is under way, with a
``volt-agent worker`` process doing the work and ``volt-agent run --no-worker`` following it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from tests.e2e._support import CLI, cli_env, client_of, eventually, worker_process, write_config
from tests.e2e.test_fault_tolerance import expected_week, week_args
from tests.integration.pipeline_env import workspace
from volt_agent.domain.models import EnrichedData, RawTogglData
from volt_agent.pipeline.devserver import DevServer
from volt_agent.pipeline.service import query_progress, workflow_id_for
from volt_agent.sandbox import FiberySimulatorOptions, run_simulators
from volt_agent.storage.run_folder import ENRICHED_DATA, RAW_TOGGL

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(240)
async def test_a_run_survives_a_restart_of_the_temporal_server(tmp_path: Path) -> None:
    server = DevServer(db_path=tmp_path / "temporal" / "temporal.db")
    slow = FiberySimulatorOptions(latency_seconds=(0.4, 0.6))
    with server, run_simulators(workspace(), fibery=slow) as sims:
        config = write_config(
            tmp_path,
            sims,
            temporal={"address": server.address, "task_queue": f"e2e-{uuid.uuid4()}"},
            toggl={"requests_per_second": 50},
            fibery={"requests_per_second": 50, "batch_size": 3},
            retry={"initial_interval_seconds": 0.5, "maximum_interval_seconds": 2},
        )
        env = cli_env(tmp_path, sims)
        with worker_process(config, env, tmp_path / "worker.log"):
            follower = await asyncio.create_subprocess_exec(
                *CLI,
                *week_args("restarted", config, "--no-worker"),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL,
                env=env,
                cwd=tmp_path,
            )
            try:
                client = await client_of(server.address)
                handle = client.get_workflow_handle(workflow_id_for("restarted"))

                async def enriching() -> bool:
                    try:
                        progress = await query_progress(handle)
                    except (RPCError, WorkflowQueryFailedError):  # not started yet
                        return False
                    done = sum(t.done for t in progress.details.values())
                    return progress.current_activity == "enrich_entities" and done > 0

                await eventually(enriching, 60, "enrichment to be under way")
                stopped_at = datetime.now(UTC)
                await asyncio.to_thread(server.stop)
                await asyncio.sleep(2)  # the worker and the follower see the server gone
                await asyncio.to_thread(server.start)
                output, _ = await asyncio.wait_for(follower.communicate(), 150)
            finally:
                if follower.returncode is None:
                    follower.kill()
                    await follower.wait()
    text = output.decode(errors="replace")
    assert follower.returncode == 0, text
    assert "Run restarted: completed" in text

    folder = tmp_path / "runs" / "restarted"
    meta = json.loads((folder / "run_metadata.json").read_text())
    assert meta["status"] == "completed"
    week = expected_week()
    raw = RawTogglData.model_validate_json((folder / RAW_TOGGL).read_bytes())
    assert sum(e.seconds for e in raw.entries) == sum(e.seconds for e in week)
    enriched = EnrichedData.model_validate_json((folder / ENRICHED_DATA).read_bytes())
    assert len(enriched.entities) == meta["statistics"]["enrichment"]["entities"] > 0
    assert datetime.fromisoformat(meta["finished_at"]) > stopped_at  # it was running then
