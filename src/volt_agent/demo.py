"""``volt-agent demo``: the whole pipeline against the simulated workspace, nothing to set up.

Starts both simulators in this process on free loopback ports, points the settings at them
(with the real APIs' rate limits still applied by the clients), reuses or starts the
embedded Temporal server, runs one pipeline with an in-process worker and prints where
the reports are.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from importlib import resources
from typing import Any

import yaml
from pydantic import SecretStr
from rich.console import Console

from volt_agent.config import EnrichmentSettings, Secrets, Settings
from volt_agent.errors import UserInputError
from volt_agent.runner import run_pipeline
from volt_agent.sandbox import Workspace, WorkspaceSpec, generate_workspace, run_simulators


def sandbox_timezones(workspace: Workspace) -> dict[str, str]:
    """``toggl.timezones`` as a user of the simulated team would write it: everyone's zone.

    Toggl's API does not tell other users' zones, so a real user lists them in config; the
    sandbox's generator knows them.
    """
    return {user.email.lower(): user.timezone for user in workspace.toggl_users}


def sandbox_enrichment() -> EnrichmentSettings:
    """The enrichment config that matches the simulated workspace's types and fields: the
    repository's ``config/enrichment_config.yaml``, shipped in the package so the demo finds
    closing dates, estimates and sprints wherever it is started."""
    text = resources.files("volt_agent.sandbox").joinpath("enrichment_config.yaml").read_text()
    return EnrichmentSettings.model_validate(yaml.safe_load(text))


def sandbox_settings(
    settings: Settings,
    toggl_url: str,
    fibery_url: str,
    workspace_id: int,
    timezones: Mapping[str, str] | None = None,
) -> Settings:
    """``settings`` pointed at the simulators; ``timezones`` (``sandbox_timezones``) are added
    to the configured ones, so each person's days are their local days."""
    toggl: dict[str, Any] = {"base_url": toggl_url, "workspace_id": workspace_id}
    if timezones:
        toggl["timezones"] = {**settings.toggl.timezones, **timezones}
    return settings.model_copy(
        update={
            "toggl": settings.toggl.model_copy(update=toggl),
            "fibery": settings.fibery.model_copy(update={"base_url": fibery_url}),
        }
    )


async def run_demo(
    settings: Settings,
    console: Console,
    *,
    users: int = 12,
    days: int = 7,
    seed: int = 42,
    week: int = 1,
) -> int:
    """One run over period ``week`` (1-based, ``days`` long each) of a workspace that holds
    ``days * week`` days of entries; week 2 after week 1 (same seed and output folder)
    gives a report compared with week 1's run."""
    if week < 1:
        raise UserInputError(f"--week must be 1 or more, not {week}")
    spec = WorkspaceSpec(users=users, days=days * week, seed=seed)
    console.print(
        f"Generating a simulated team: {users} people, {spec.days} days (seed {seed});"
        f" running week {week}"
    )
    workspace = generate_workspace(spec)
    if not settings.enrichment.types:
        console.print(
            "No enrichment config here (config/enrichment_config.yaml): using the one that"
            " matches the simulated workspace"
        )
        settings = settings.model_copy(update={"enrichment": sandbox_enrichment()})
    with run_simulators(workspace) as sims:
        console.print(f"Toggl simulator  {sims.toggl.base_url}")
        console.print(f"Fibery simulator {sims.fibery.base_url}")
        demo_settings = sandbox_settings(
            settings,
            sims.toggl.base_url,
            sims.fibery.base_url,
            sims.workspace_id,
            sandbox_timezones(workspace),
        )
        secrets = Secrets(
            toggl_api_token=SecretStr(sims.toggl.token),
            fibery_api_token=SecretStr(sims.fibery.token),
        )
        start = spec.start_date + timedelta(days=days * (week - 1))
        end = start + timedelta(days=days - 1)
        return await run_pipeline(
            demo_settings,
            secrets,
            console,
            start_date=start.isoformat(),
            end_date=end.isoformat(),
            users=None,
            start_from="toggl",
            run_id=None,
            output_dir=None,
        )
