"""``volt-agent demo``: the whole pipeline against the simulated workspace, nothing to set up.

Starts both simulators in this process on free loopback ports, points the settings at them
(with the real APIs' rate limits still applied by the clients), reuses or starts the
embedded Temporal server, runs one pipeline with an in-process worker and prints where
the reports are.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import SecretStr
from rich.console import Console

from volt_agent.config import Secrets, Settings
from volt_agent.runner import run_pipeline
from volt_agent.sandbox import WorkspaceSpec, generate_workspace, run_simulators


def sandbox_settings(
    settings: Settings, toggl_url: str, fibery_url: str, workspace_id: int
) -> Settings:
    return settings.model_copy(
        update={
            "toggl": settings.toggl.model_copy(
                update={"base_url": toggl_url, "workspace_id": workspace_id}
            ),
            "fibery": settings.fibery.model_copy(update={"base_url": fibery_url}),
        }
    )


async def run_demo(
    settings: Settings, console: Console, *, users: int = 12, days: int = 7, seed: int = 42
) -> int:
    spec = WorkspaceSpec(users=users, days=days, seed=seed)
    console.print(f"Generating a simulated team: {users} people, {days} days (seed {seed})")
    workspace = generate_workspace(spec)
    with run_simulators(workspace) as sims:
        console.print(f"Toggl simulator  {sims.toggl.base_url}")
        console.print(f"Fibery simulator {sims.fibery.base_url}")
        demo_settings = sandbox_settings(
            settings, sims.toggl.base_url, sims.fibery.base_url, sims.workspace_id
        )
        secrets = Secrets(
            toggl_api_token=SecretStr(sims.toggl.token),
            fibery_api_token=SecretStr(sims.fibery.token),
        )
        end = spec.start_date + timedelta(days=days - 1)
        return await run_pipeline(
            demo_settings,
            secrets,
            console,
            start_date=spec.start_date.isoformat(),
            end_date=end.isoformat(),
            users=None,
            start_from="toggl",
            run_id=None,
            output_dir=None,
        )
