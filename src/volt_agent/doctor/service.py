"""``run_doctor``: every check, the API ones over clients built like a run's."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import date
from pathlib import Path

import httpx

from volt_agent.config import Secrets, Settings
from volt_agent.doctor.apis import (
    TOGGL_NAMES,
    TOGGL_TOKEN,
    ModelLister,
    check_llm,
    check_toggl,
    skipped,
    today_utc,
)
from volt_agent.doctor.checks import (
    Check,
    check_bucket,
    check_output_folder,
    check_temporal,
    error,
    skip,
)
from volt_agent.doctor.fibery import FIBERY_ACCESS, FIBERY_CONFIG, check_fibery
from volt_agent.errors import ConfigError
from volt_agent.sources.fibery import FiberyClient
from volt_agent.sources.recording import masker_for, record_folder, recording_transport
from volt_agent.sources.toggl import TogglClient


async def run_doctor(
    settings: Settings,
    secrets: Secrets,
    *,
    record_dir: Path | None = None,
    toggl_transport: httpx.AsyncBaseTransport | None = None,
    fibery_transport: httpx.AsyncBaseTransport | None = None,
    llm_client_factory: ModelLister | None = None,
    today: date | None = None,
) -> list[Check]:
    """Every check, in report order. The groups run concurrently; nothing is written
    except the recording under ``record_dir`` (Toggl and Fibery exchanges, masked)."""
    if record_dir is not None:
        folder, masker = record_folder(record_dir), masker_for(secrets)
        toggl_transport = recording_transport(folder, masker, "toggl", toggl_transport)
        fibery_transport = recording_transport(folder, masker, "fibery", fibery_transport)
    groups = await asyncio.gather(
        _toggl(settings, secrets, toggl_transport, today or today_utc()),
        _fibery(settings, secrets, fibery_transport),
        _one(check_llm(settings.llm, secrets.openai_api_key, client_factory=llm_client_factory)),
        _one(check_temporal(settings)),
        _one(_run_storage(settings)),
    )
    return [check for group in groups for check in group]


async def _run_storage(settings: Settings) -> Check:
    if settings.storage_url:
        return await asyncio.to_thread(check_bucket, settings)
    return await asyncio.to_thread(check_output_folder, settings.output_dir)


async def _one(check: Awaitable[Check]) -> list[Check]:
    return [await check]


async def _toggl(
    settings: Settings,
    secrets: Secrets,
    transport: httpx.AsyncBaseTransport | None,
    today: date,
) -> list[Check]:
    try:
        token = secrets.require_toggl()
    except ConfigError as exc:
        return [error(TOGGL_TOKEN, str(exc)), *skipped(TOGGL_NAMES[1:], "needs a Toggl token")]
    async with TogglClient.create(settings.toggl, settings.http, token, transport) as client:
        return await check_toggl(client, settings.toggl, today)


async def _fibery(
    settings: Settings, secrets: Secrets, transport: httpx.AsyncBaseTransport | None
) -> list[Check]:
    try:
        token = secrets.require_fibery()
        client = FiberyClient.create(settings.fibery, settings.http, token, transport)
    except ConfigError as exc:
        return [error(FIBERY_ACCESS, str(exc)), skip(FIBERY_CONFIG, "needs the Fibery schema")]
    async with client:
        return await check_fibery(client, settings.enrichment)
