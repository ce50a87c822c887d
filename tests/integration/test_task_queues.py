"""No foreign work: a CLI run's in-process worker polls the run's own task queue only.

A long-lived worker on the shared queue (its client's identity ``long-lived-worker``) and a
``volt-agent run`` with its in-process worker share one dev server; the histories say which
worker started every workflow and activity task of each run.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from rich.console import Console
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter

from tests.integration.pipeline_env import WEEK, pipeline_env
from volt_agent.config import Secrets, Settings
from volt_agent.pipeline.devserver import DevServer
from volt_agent.pipeline.service import (
    prepare_run,
    run_task_queue,
    start_run,
    workflow_id_for,
    workflow_pollers,
)
from volt_agent.runner import EXIT_DETACHED, EXIT_OK, run_pipeline, show_run
from volt_agent.storage.run_folder import RunFolder
from volt_agent.storage.run_metadata import load_metadata

LONG_LIVED = "long-lived-worker"


async def long_lived_client(server: DevServer) -> Client:
    return await Client.connect(
        server.address,
        namespace=server.namespace,
        data_converter=pydantic_data_converter,
        identity=LONG_LIVED,
    )


def pointed_at(settings: Settings, server: DevServer) -> Settings:
    temporal = settings.temporal.model_copy(update={"address": server.address})
    return settings.model_copy(update={"temporal": temporal})


async def task_workers(handle: WorkflowHandle[Any, Any]) -> dict[str, list[str]]:
    """Identities of the workers that started the run's workflow and activity tasks, and the
    task queues its activities were scheduled on."""
    history = await handle.fetch_history()
    found: dict[str, list[str]] = {"workflow": [], "activity": [], "activity_queues": []}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            found["workflow"].append(event.workflow_task_started_event_attributes.identity)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            found["activity"].append(event.activity_task_started_event_attributes.identity)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled = event.activity_task_scheduled_event_attributes
            found["activity_queues"].append(scheduled.task_queue.name)
    return found


async def test_cli_and_long_lived_workers_never_take_each_others_work(
    temporal_dev_server: DevServer, tmp_path: Path
) -> None:
    client = await long_lived_client(temporal_dev_server)
    async with pipeline_env(client, tmp_path) as env:  # the long-lived worker, shared queue
        settings = pointed_at(env.settings, temporal_dev_server)
        secrets = Secrets(
            toggl_api_token=SecretStr(env.sims.toggl.token),
            fibery_api_token=SecretStr(env.sims.fibery.token),
        )
        shared_params, shared = await env.start(run_id="shared-run")
        cli_code = await run_pipeline(
            settings,
            secrets,
            Console(file=io.StringIO()),
            start_date=WEEK[0],
            end_date=WEEK[1],
            users=None,
            start_from="toggl",
            run_id="cli-run",
            output_dir=None,
        )
        await shared.result()
        cli = await task_workers(client.get_workflow_handle(workflow_id_for("cli-run")))
        other = await task_workers(shared)
    assert cli_code == EXIT_OK
    assert load_metadata(RunFolder(settings.output_dir, "cli-run")).status == "completed"  # type: ignore[union-attr]
    assert cli["activity"], "the CLI run executed activities"
    assert LONG_LIVED not in cli["activity"] + cli["workflow"]
    assert set(cli["activity_queues"]) == {run_task_queue("cli-run")}
    assert other["activity"], "the shared run executed activities"
    assert set(other["activity"] + other["workflow"]) == {LONG_LIVED}
    shared_queue = settings.temporal.task_queue  # its Toggl/Fibery work: on the API queues
    api_queues = {f"{shared_queue}-toggl", f"{shared_queue}-fibery"}
    assert set(other["activity_queues"]) == {shared_queue, *api_queues}
    assert shared_params.run_id == "shared-run"


async def test_show_run_follow_reattaches_a_worker_to_the_runs_own_queue(
    temporal_dev_server: DevServer, temporal_client: Client, tmp_path: Path
) -> None:
    async with pipeline_env(temporal_client, tmp_path) as env:
        settings = pointed_at(env.settings, temporal_dev_server)
        secrets = Secrets(
            toggl_api_token=SecretStr(env.sims.toggl.token),
            fibery_api_token=SecretStr(env.sims.fibery.token),
        )
        params = prepare_run(settings, start_date=WEEK[0], end_date=WEEK[1], run_id="orphan")
        queue = run_task_queue(params.run_id)
        handle = await start_run(temporal_client, params, queue)  # its CLI went away at once
        await asyncio.sleep(1)
        described = await handle.describe()
        assert described.task_queue == queue
        assert await workflow_pollers(temporal_client, queue) == 0
        assert described.status is not None
        assert described.status.name == "RUNNING"  # the shared worker did not take it
        watching = io.StringIO()
        watcher = asyncio.create_task(
            show_run(
                settings, secrets, Console(file=watching, width=400), "orphan", follow=True,
                in_process_worker=False,
            )
        )  # fmt: skip
        await asyncio.sleep(1.5)
        watcher.cancel()
        assert await watcher == EXIT_DETACHED
        notice = " ".join(watching.getvalue().split())
        assert f"run orphan waits on its own task queue {queue} and no worker polls it" in notice
        assert "drop --no-worker to run it here" in notice
        output = io.StringIO()
        code = await show_run(settings, secrets, Console(file=output), "orphan", follow=True)
        await handle.result()
    assert code == EXIT_OK
    assert load_metadata(RunFolder(settings.output_dir, "orphan")).status == "completed"  # type: ignore[union-attr]
    workers = await task_workers(handle)
    assert set(workers["activity_queues"]) == {queue}
