"""A real pipeline on a real Temporal dev server against the simulators, for integration tests.

Each environment gets its own task queue and output folder, so tests share one dev server.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle

from volt_agent.config import Secrets, Settings, load_settings
from volt_agent.demo import sandbox_settings, sandbox_timezones
from volt_agent.domain.local_time import local_date
from volt_agent.pipeline.activities import PipelineActivities
from volt_agent.pipeline.service import prepare_run, start_run
from volt_agent.pipeline.types import PipelineInput
from volt_agent.pipeline.worker import build_activities, build_workers, running
from volt_agent.sandbox import (
    FiberySimulatorOptions,
    Simulators,
    TogglSimulatorOptions,
    Workspace,
    WorkspaceSpec,
    generate_workspace,
    run_simulators,
)
from volt_agent.storage.run_folder import RunFolder, open_run_folder
from volt_agent.storage.run_metadata import RunMetadata, load_metadata

REPO = Path(__file__).parents[2]
WEEK = ("2026-11-16", "2026-11-22")


@cache
def workspace(users: int = 12, days: int = 7, seed: int = 42) -> Workspace:
    return generate_workspace(WorkspaceSpec(users=users, days=days, seed=seed))


def fast_settings(tmp_path: Path, sims: Simulators, **updates: Any) -> Settings:
    """Repository config pointed at the simulators, with short retry intervals and every
    sandbox user's time zone configured (``toggl__timezones={}`` leaves them out)."""
    base = sandbox_settings(
        load_settings(REPO / "config" / "config.yaml", env={}),
        sims.toggl.base_url,
        sims.fibery.base_url,
        sims.workspace_id,
        sandbox_timezones(sims.workspace),
    )
    data = base.model_dump()
    data["output_dir"] = tmp_path / "runs"
    data["data_dir"] = tmp_path / "data"
    data["toggl"]["requests_per_second"] = 100
    data["fibery"]["requests_per_second"] = 100
    data["http"].update(backoff_initial_seconds=0.01, backoff_max_seconds=2, max_retries=3)
    data["retry"].update(
        initial_interval_seconds=0.2,
        maximum_interval_seconds=1,
        maximum_attempts=5,
        heartbeat_timeout_seconds=10,
    )
    data["temporal"]["task_queue"] = f"test-{uuid.uuid4()}"
    for path, value in updates.items():
        section, _, key = path.partition("__")
        if key:
            data[section][key] = value
        else:
            data[section] = value
    return Settings.model_validate(data)


@dataclass
class PipelineEnv:
    client: Client
    settings: Settings
    sims: Simulators
    workspace: Workspace
    activities: PipelineActivities

    def params(self, **kwargs: Any) -> PipelineInput:
        kwargs.setdefault("start_date", WEEK[0])
        kwargs.setdefault("end_date", WEEK[1])
        return prepare_run(self.settings, **kwargs)

    async def start(self, **kwargs: Any) -> tuple[PipelineInput, WorkflowHandle[Any, Any]]:
        params = self.params(**kwargs)
        return params, await start_run(self.client, params, self.settings.temporal.task_queue)

    async def run(self, **kwargs: Any) -> tuple[RunFolder, RunMetadata]:
        """Run to the end (success or failure); returns the run folder and its metadata."""
        params, handle = await self.start(**kwargs)
        with contextlib.suppress(WorkflowFailureError):  # asserted from run_metadata.json
            await handle.result()
        folder = open_run_folder(self.settings, params.run_id)
        meta = load_metadata(folder)
        assert meta is not None
        return folder, meta


@asynccontextmanager
async def pipeline_env(
    client: Client,
    tmp_path: Path,
    *,
    ws: Workspace | None = None,
    toggl: TogglSimulatorOptions | None = None,
    fibery: FiberySimulatorOptions | None = None,
    secrets: Secrets | None = None,
    **settings_updates: Any,
) -> AsyncIterator[PipelineEnv]:
    ws = ws or workspace()
    with run_simulators(ws, toggl=toggl, fibery=fibery) as sims:
        settings = fast_settings(tmp_path, sims, **settings_updates)
        secrets = secrets or Secrets(
            toggl_api_token=SecretStr(sims.toggl.token),
            fibery_api_token=SecretStr(sims.fibery.token),
        )
        activities = build_activities(settings, secrets)
        try:
            async with running(build_workers(client, settings, activities)):
                yield PipelineEnv(client, settings, sims, ws, activities)
        finally:
            await activities.aclose()


def local_week(ws: Workspace) -> set[int]:
    """Ids of the entries of ``WEEK`` in their owner's local days (zones as configured)."""
    zones = {u.id: u.timezone for u in ws.toggl_users}
    first, last = (date.fromisoformat(d) for d in WEEK)
    return {e.id for e in ws.time_entries if first <= local_date(e.start, zones[e.user_id]) <= last}
