"""``fetch_toggl_data`` in an ``ActivityEnvironment`` against the in-process Toggl simulator:
local days, the completeness check and its retry from scratch, visibility and quota."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from volt_agent.config import HttpSettings, Secrets, Settings
from volt_agent.demo import sandbox_settings, sandbox_timezones
from volt_agent.domain.local_time import local_date
from volt_agent.domain.models import RawTogglData
from volt_agent.pipeline.activities import PipelineActivities
from volt_agent.pipeline.fetch_journal import FetchCheckpoint, checkpoint_from, page_name
from volt_agent.pipeline.types import FetchInput, FetchResult, RunRef
from volt_agent.reporting.writer import TemplateReportWriter
from volt_agent.sandbox import (
    TogglSimulatorOptions,
    Workspace,
    WorkspaceSpec,
    create_toggl_app,
    generate_workspace,
)
from volt_agent.sources.toggl import TogglClient
from volt_agent.storage.run_folder import RAW_TOGGL, TOGGL_AGGREGATED, RunFolder

from .skewed_totals import SkewedTotals

BASE_URL = "http://toggl.test"
HTTP = HttpSettings(timeout_seconds=5, backoff_initial_seconds=0.01, max_retries=1)
SPEC = WorkspaceSpec(users=6, days=4, seed=11)
START = SPEC.start_date + timedelta(days=1)
END = SPEC.start_date + timedelta(days=2)


@cache
def workspace() -> Workspace:
    return generate_workspace(SPEC)


@dataclasses.dataclass
class Fetch:
    activities: PipelineActivities
    run: RunRef
    beats: list[Any]
    output_dir: Path
    """The worker's own storage root (the run reference names only the run)."""

    async def attempt(self, details: Any = None) -> FetchResult:
        env = ActivityEnvironment()
        env.info = dataclasses.replace(
            env.info, heartbeat_details=[details] if details is not None else []
        )
        env.on_heartbeat = lambda *d: self.beats.append(d[0])
        params = FetchInput(run=self.run, start_date=START, end_date=END)
        result: FetchResult = await env.run(self.activities.fetch_toggl_data, params)
        return result

    def raw(self) -> RawTogglData:
        return self.folder().load(RAW_TOGGL, RawTogglData)

    def folder(self) -> RunFolder:
        """The run's folder under the worker's own ``output_dir``."""
        return RunFolder(self.output_dir, self.run.run_id)


def settings_for(ws: Workspace, *, zones: bool = True) -> Settings:
    settings = sandbox_settings(
        Settings(), BASE_URL, "http://fibery.test", ws.workspace_id,
        sandbox_timezones(ws) if zones else None,
    )  # fmt: skip
    return settings.model_copy(
        update={"toggl": settings.toggl.model_copy(update={"requests_per_second": 1000.0})}
    )


@pytest.fixture
async def fetch_with(tmp_path: Path) -> AsyncIterator[Any]:
    clients: list[TogglClient] = []

    def build(
        options: TogglSimulatorOptions | None = None, *, skew: int = 0, times: int = 0, **kw: Any
    ) -> Fetch:
        ws = workspace()
        settings = settings_for(ws, **kw).model_copy(update={"output_dir": tmp_path})
        app = create_toggl_app(ws, options or TogglSimulatorOptions())
        transport = SkewedTotals(httpx.ASGITransport(app=app), skew=skew, times=times)
        token = SecretStr(TogglSimulatorOptions().token)
        client = TogglClient.create(settings.toggl, HTTP, token, transport)
        clients.append(client)
        activities = PipelineActivities(
            settings, Secrets(toggl_api_token=token), TemplateReportWriter(), toggl=client
        )
        return Fetch(activities, RunRef(run_id="run-1"), [], tmp_path)

    yield build
    for client in clients:
        await client.aclose()


def local_ids(ws: Workspace, zones: dict[int, str]) -> set[int]:
    return {e.id for e in ws.time_entries if START <= local_date(e.start, zones[e.user_id]) <= END}


async def test_keeps_each_persons_local_days_and_records_zones(fetch_with: Any) -> None:
    fetch = fetch_with()
    result = await fetch.attempt()
    ws, raw = workspace(), fetch.raw()
    zones = {u.id: u.timezone for u in ws.toggl_users}
    assert {e.id for e in raw.entries} == local_ids(ws, zones)
    assert [(u.id, u.timezone, u.timezone_source) for u in raw.users] == [
        (u.id, u.timezone, "config") for u in ws.toggl_users
    ]
    assert any(not u.active for u in raw.users)  # deactivated users keep their names
    assert (raw.fetch_start_date, raw.fetch_end_date) == (
        START - timedelta(days=1),
        END + timedelta(days=1),
    )
    stats = result.statistics
    assert stats.outside_range_dropped > 0
    assert stats.entries_kept == len(raw.entries) == result.entries
    assert stats.rows_received == stats.entries_kept + stats.outside_range_dropped + (
        stats.duplicates_dropped
        + stats.running_entries_dropped
        + stats.negative_durations_dropped
        + stats.malformed_rows_dropped
    )
    assert result.dropped == stats.rows_received - stats.entries_kept
    check = result.completeness
    assert check is not None
    assert check.agreed
    assert check.attempts == 1
    assert check.requests == 1
    assert check.expected_seconds == check.fetched_seconds > sum(e.seconds for e in raw.entries)
    assert raw.completeness == check
    assert result.token_is_admin is True
    assert raw.visibility.token_is_admin is True
    assert result.configured_timezones == len(ws.toggl_users)
    assert result.quota.quota_remaining is not None
    assert result.quota.quota_remaining_min is not None
    assert result.quota.quota_remaining_min <= result.quota.quota_remaining
    assert result.quota.quota_resets_in is not None
    dumped = result.model_dump(mode="json")
    assert dumped["completeness"]["agreed"] is True


async def test_a_disagreeing_total_refetches_everything_once(fetch_with: Any) -> None:
    fetch = fetch_with(skew=60, times=1)
    with pytest.raises(ApplicationError) as info:
        await fetch.attempt()
    assert not info.value.non_retryable
    assert info.value.type == "IncompleteFetchError"
    assert "fetching everything again" in info.value.message
    folder = fetch.folder()
    assert not folder.exists(page_name(1))
    assert not folder.exists(RAW_TOGGL)
    restart = checkpoint_from([fetch.beats[-1]])
    assert restart is not None
    assert restart.restart
    assert restart.mismatches == 1
    assert restart.pages == 0
    assert restart.cursor is None

    pages_before = len(fetch.beats)
    result = await fetch.attempt(fetch.beats[-1])
    assert result.resumed_from_page == 0
    resumed = FetchCheckpoint.model_validate(fetch.beats[pages_before])
    assert (resumed.pages, resumed.cursor, resumed.restart) == (0, None, False)
    assert len(fetch.beats) - pages_before == 1 + result.pages  # every page fetched again
    assert result.completeness is not None
    assert result.completeness.agreed
    assert result.completeness.attempts == 2
    assert all(
        FetchCheckpoint.model_validate(b).mismatches == 1 for b in fetch.beats[pages_before:]
    )


async def test_a_second_disagreement_is_a_fatal_one_line_error(fetch_with: Any) -> None:
    fetch = fetch_with(skew=-90, times=2)
    with pytest.raises(ApplicationError):
        await fetch.attempt()
    with pytest.raises(ApplicationError) as info:
        await fetch.attempt(fetch.beats[-1])
    assert info.value.non_retryable
    assert info.value.type == "FetchMismatchError"
    message = info.value.message
    assert "\n" not in message
    expected = int(message.split(" say ")[1].split(" s,")[0])
    fetched = int(message.split("sum to ")[1].split(" s ")[0])
    assert fetched - expected == 90
    assert "again after a fresh fetch" in message


async def test_a_member_token_sees_only_its_own_entries_and_says_so(fetch_with: Any) -> None:
    fetch = fetch_with(TogglSimulatorOptions(token_role="member"))
    result = await fetch.attempt()
    raw, me = fetch.raw(), workspace().me
    assert result.token_is_admin is False
    assert raw.visibility.own_entries_only
    assert (raw.visibility.token_user_id, raw.visibility.token_user_name) == (me.id, me.fullname)
    assert {e.user_id for e in raw.entries} <= {me.id}
    assert result.completeness is not None
    assert result.completeness.agreed


async def test_without_configured_zones_everyone_but_the_token_user_gets_the_default(
    fetch_with: Any,
) -> None:
    fetch = fetch_with(zones=False)
    result = await fetch.attempt()
    ws, raw = workspace(), fetch.raw()
    me = ws.me
    assert raw.default_timezone == me.timezone == result.default_timezone
    assert result.configured_timezones == 0
    sources = {u.id: (u.timezone, u.timezone_source) for u in raw.users}
    assert sources[me.id] == (me.timezone, "toggl_profile")
    assert {v for k, v in sources.items() if k != me.id} == {(me.timezone, "default")}
    zones = {u.id: me.timezone for u in ws.toggl_users}
    assert {e.id for e in raw.entries} == local_ids(ws, zones)


async def test_a_used_up_quota_ends_the_attempt_with_its_reset_and_the_retry_resumes(
    fetch_with: Any,
) -> None:
    """2 requests per 2 s "hour", a 1 s heartbeat timeout: the reset is further away than
    one wait may take (0.8 s), so the attempt fails retryably with the reset as its delay,
    after heartbeating its page; the retry resumes there. No request is spent on a sure 402."""
    fetch = fetch_with(TogglSimulatorOptions(hourly_quota=2, quota_window_seconds=2))
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, heartbeat_timeout=timedelta(seconds=1))
    env.on_heartbeat = lambda *d: fetch.beats.append(d[0])
    params = FetchInput(run=fetch.run, start_date=START, end_date=END)
    with pytest.raises(ApplicationError) as info:
        await env.run(fetch.activities.fetch_toggl_data, params)
    assert info.value.type == "QuotaWaitError"
    assert not info.value.non_retryable
    delay = info.value.next_retry_delay
    assert delay is not None
    assert timedelta(seconds=1) <= delay <= timedelta(seconds=2)
    last = checkpoint_from([fetch.beats[-1]])
    assert last is not None
    assert last.pages == 1

    await asyncio.sleep(delay.total_seconds())
    env.info = dataclasses.replace(env.info, heartbeat_details=[fetch.beats[-1]], attempt=2)
    result: FetchResult = await env.run(fetch.activities.fetch_toggl_data, params)
    assert result.resumed_from_page == 1
    assert result.pages == 2
    ws = workspace()
    zones = {u.id: u.timezone for u in ws.toggl_users}
    assert {e.id for e in fetch.raw().entries} == local_ids(ws, zones)
    assert fetch.activities.toggl().stats.quota_exceeded == 0


async def test_the_aggregate_step_on_the_fetching_worker_takes_the_fetchs_entries(
    fetch_with: Any,
) -> None:
    """The fetch feeds the aggregation as it spools; the aggregate step on its worker takes
    it once, without reading ``raw_toggl_data.json``; a retry reads the file: the same
    artifact either way."""
    fetch = fetch_with()
    await fetch.attempt()
    folder, run, activities = fetch.folder(), fetch.run, fetch.activities
    raw_bytes = folder.read_bytes(RAW_TOGGL)
    folder.save_bytes(RAW_TOGGL, b"{}")  # a read of the file would fail now
    env = ActivityEnvironment()
    await env.run(activities.aggregate_toggl_data, run)
    handed = folder.read_bytes(TOGGL_AGGREGATED)
    with pytest.raises(ApplicationError, match="raw_toggl_data"):  # handed over once
        await env.run(activities.aggregate_toggl_data, run)
    folder.save_bytes(RAW_TOGGL, raw_bytes)
    await env.run(activities.aggregate_toggl_data, run)
    assert folder.read_bytes(TOGGL_AGGREGATED) == handed
