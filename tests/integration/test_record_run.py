"""``volt-agent run --record DIR``: a worker built with a record folder saves every Toggl and
Fibery exchange of a whole pipeline run there, masked; the workflow input never carries it."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.client import Client, WorkflowFailureError

from tests.integration.pipeline_env import WEEK, fast_settings, workspace
from volt_agent.config import Secrets
from volt_agent.pipeline.service import prepare_run, start_run
from volt_agent.pipeline.worker import build_activities, build_workers, running
from volt_agent.sandbox import run_simulators
from volt_agent.storage.run_folder import RunFolder
from volt_agent.storage.run_metadata import load_metadata

pytestmark = pytest.mark.integration


def listing(directory: Path, pattern: str) -> list[Path]:
    return sorted(directory.glob(pattern))


async def test_a_recorded_run_holds_every_exchange_masked(
    temporal_client: Client, tmp_path: Path
) -> None:
    ws = workspace()
    recording = tmp_path / "recording"
    with run_simulators(ws) as sims:
        settings = fast_settings(tmp_path, sims)
        secrets = Secrets(
            toggl_api_token=SecretStr(sims.toggl.token),
            fibery_api_token=SecretStr(sims.fibery.token),
        )
        activities = build_activities(settings, secrets, record_dir=recording)
        try:
            async with running(build_workers(temporal_client, settings, activities)):
                params = prepare_run(settings, start_date=WEEK[0], end_date=WEEK[1])
                handle = await start_run(temporal_client, params, settings.temporal.task_queue)
                with contextlib.suppress(WorkflowFailureError):
                    await handle.result()
        finally:
            await activities.aclose()
        toggl_requests = sims.toggl.stats()["requests"]
        fibery_requests = sims.fibery.stats()["requests"]
    meta = load_metadata(RunFolder(settings.output_dir, params.run_id))
    assert meta is not None
    assert meta.status == "completed", meta.error
    assert str(recording) not in json.dumps(params.model_dump(mode="json"))

    toggl_files = listing(recording, "toggl-*.json")
    fibery_files = listing(recording, "fibery-*.json")
    assert len(toggl_files) == toggl_requests > 0
    assert len(fibery_files) == fibery_requests > 0
    text = "\n".join(path.read_text() for path in toggl_files + fibery_files)
    people = [value for user in ws.toggl_users for value in (user.email, user.fullname)]
    people += [str(user.get(key)) for user in ws.fibery_users for key in ("email", "name")]
    assert [value for value in people if value in text] == []
    assert sims.toggl.token not in text
    assert sims.fibery.token not in text
    assert "user1@example.invalid" in text
