"""The real workflow on a real Temporal dev server against the simulators."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client, WorkflowExecutionStatus

from tests.integration.pipeline_env import PipelineEnv, local_week, pipeline_env, workspace
from tests.unit.pipeline.skewed_totals import SkewedTotals
from volt_agent.config import Secrets
from volt_agent.domain.models import EnrichedData, RawTogglData, TogglAggregated
from volt_agent.pipeline.service import query_progress
from volt_agent.reporting.exports import ENTRIES_CSV, PERSON_ENTITY_CSV
from volt_agent.sandbox import (
    FaultPlan,
    FaultRule,
    FiberySimulatorOptions,
    TogglSimulatorOptions,
)
from volt_agent.sources.toggl import TogglClient
from volt_agent.storage.run_folder import (
    ENRICHED_DATA,
    RAW_TOGGL,
    TEAM_SUMMARY,
    TOGGL_AGGREGATED,
    TOGGL_SUMMARY,
    user_slug,
)

pytestmark = pytest.mark.integration


async def test_full_run_writes_every_artifact(temporal_client: Client, tmp_path: Path) -> None:
    async with pipeline_env(temporal_client, tmp_path) as env:
        folder, meta = await env.run()
    assert meta.status == "completed", meta.error
    assert meta.stages_completed == ["toggl", "fibery"]
    assert meta.finished_at is not None
    raw = folder.load(RAW_TOGGL, RawTogglData)
    aggregated = folder.load(TOGGL_AGGREGATED, TogglAggregated)
    enriched = folder.load(ENRICHED_DATA, EnrichedData)
    assert len(raw.entries) == meta.statistics["toggl"]["entries"] > 0
    assert {e.id for e in raw.entries} == local_week(env.workspace)
    assert aggregated.statistics.total_seconds == sum(e.seconds for e in raw.entries)
    fetched = meta.statistics["toggl"]
    assert fetched["completeness"]["agreed"] is True
    assert fetched["completeness"]["expected_seconds"] == fetched["completeness"]["fetched_seconds"]
    assert fetched["completeness"]["requests"] == 1
    assert fetched["token_is_admin"] is True
    assert fetched["quota"]["quota_remaining"] is not None
    assert fetched["quota"]["quota_remaining_min"] <= fetched["quota"]["quota_remaining"]
    # /me draws from the per-user quota (30/h), kept apart from the workspace's (600/h)
    assert fetched["quota"]["user_quota_remaining"] < 30 < fetched["quota"]["quota_remaining_min"]
    assert {u.timezone_source for u in raw.users} == {"config"}
    assert folder.exists(TOGGL_SUMMARY)
    assert folder.exists(TEAM_SUMMARY)
    for user in aggregated.users:
        assert folder.exists(folder.individual_report(user_slug(user.user_name, user.user_id)))
    referenced = {(m.type_key, m.entity_id) for u in aggregated.users for m in u.matched}
    assert {(e.type_key, e.public_id) for e in enriched.entities} == referenced
    deleted = {(d.type_key, d.public_id) for d in env.workspace.deleted_refs}
    not_found = {(e.type_key, e.public_id) for e in enriched.entities if e.status == "not_found"}
    assert not_found
    assert not_found <= deleted
    assert all(
        e.status == "found" for e in enriched.entities if (e.type_key, e.public_id) not in deleted
    )
    assert meta.statistics["enrichment"]["not_found"] == len(not_found)
    exported = {
        name: list(csv.DictReader(io.StringIO(folder.read_bytes(name).decode(), newline="")))
        for name in (ENTRIES_CSV, PERSON_ENTITY_CSV)
    }
    stats = aggregated.statistics
    assert len(exported[ENTRIES_CSV]) == stats.entry_count
    assert sum(int(r["seconds"]) for r in exported[ENTRIES_CSV]) == stats.total_seconds
    for name, seconds in (
        (ENTRIES_CSV, stats.total_seconds),
        (PERSON_ENTITY_CSV, stats.matched_seconds),
    ):
        hours = sum(float(r["hours"]) for r in exported[name])
        assert abs(hours - seconds / 3600) < 1e-6 * len(exported[name]) + 1e-9


async def test_rerun_from_fibery_gives_identical_enriched_data(
    temporal_client: Client, tmp_path: Path
) -> None:
    async with pipeline_env(temporal_client, tmp_path) as env:
        folder, meta = await env.run(run_id="rerun-1")
        assert meta.status == "completed"
        first = folder.file(ENRICHED_DATA).read_bytes()
        toggl_requests = env.sims.toggl.stats()["requests"]
        folder, meta = await env.run(run_id="rerun-1", start_from="fibery")
        assert meta.status == "completed", meta.error
        assert env.sims.toggl.stats()["requests"] == toggl_requests
    assert folder.file(ENRICHED_DATA).read_bytes() == first
    assert meta.stages_completed == ["toggl", "fibery"]


async def test_users_filter(temporal_client: Client, tmp_path: Path) -> None:
    ws = workspace()
    picked = [u for u in ws.toggl_users if ws.entry_count_by_user().get(u.id)][:2]
    async with pipeline_env(temporal_client, tmp_path) as env:
        folder, meta = await env.run(users=",".join(u.email.upper() for u in picked))
    assert meta.status == "completed", meta.error
    aggregated = folder.load(TOGGL_AGGREGATED, TogglAggregated)
    assert {u.user_id for u in aggregated.users} == {u.id for u in picked}


async def test_bad_fibery_token_fails_fast_with_message(
    temporal_client: Client, tmp_path: Path
) -> None:
    async with pipeline_env(temporal_client, tmp_path) as env:
        env.activities._secrets = Secrets(  # the worker's environment holds the wrong token
            toggl_api_token=SecretStr(env.sims.toggl.token),
            fibery_api_token=SecretStr("wrong-token-123456"),
        )
        folder, meta = await env.run()
        fibery_requests = env.sims.fibery.stats()["requests"]
    assert meta.status == "failed"
    assert meta.stages_completed == ["toggl"]
    assert meta.stages_failed == ["fibery"]
    assert meta.error is not None
    assert "FIBERY_API_TOKEN" in meta.error
    assert "wrong-token-123456" not in folder.file("run_metadata.json").read_text()
    assert fibery_requests <= 8  # non-retryable: one attempt per concurrent batch, no retries


async def test_cancellation_marks_run_cancelled(temporal_client: Client, tmp_path: Path) -> None:
    slow = FiberySimulatorOptions(latency_seconds=(0.5, 0.5))
    async with pipeline_env(temporal_client, tmp_path, fibery=slow) as env:
        params, handle = await env.start()
        for _ in range(100):
            progress = await query_progress(handle)
            if progress.current_activity == "enrich_entities":
                break
            await asyncio.sleep(0.1)
        await handle.cancel()
        with pytest.raises(Exception):  # noqa: B017, PT011 - any failure shape of a cancelled run
            await handle.result()
        description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.CANCELED
    meta = json.loads((env.settings.output_dir / params.run_id / "run_metadata.json").read_text())
    assert meta["status"] == "cancelled"
    assert meta["finished_at"] is not None


async def test_transient_429_and_5xx_bursts_are_retried(
    temporal_client: Client, tmp_path: Path
) -> None:
    toggl = TogglSimulatorOptions(
        faults=FaultPlan(rules=(FaultRule(kind="status", status=503, first_n=3),))
    )
    fibery = FiberySimulatorOptions(
        requests_per_second=20,
        faults=FaultPlan(
            rules=(
                FaultRule(kind="status", endpoint="fibery.commands", status=502, first_n=2),
                FaultRule(kind="status", status=429, retry_after=1, first_n=2),
            )
        ),
    )
    async with pipeline_env(temporal_client, tmp_path, toggl=toggl, fibery=fibery) as env:
        folder, meta = await env.run()
        faulted = env.sims.toggl.stats()["faulted"] + env.sims.fibery.stats()["faulted"]
    assert meta.status == "completed", meta.error
    assert faulted >= 5
    raw = folder.load(RAW_TOGGL, RawTogglData)
    assert folder.load(TOGGL_AGGREGATED, TogglAggregated).statistics.total_seconds == sum(
        e.seconds for e in raw.entries
    )


async def test_fetch_resumes_from_heartbeat_cursor(temporal_client: Client, tmp_path: Path) -> None:
    """Every 4th report page fails and the client does not retry: the activity attempt fails,
    and its retry continues from the heartbeated cursor instead of from page one."""
    toggl = TogglSimulatorOptions(
        faults=FaultPlan(
            rules=(FaultRule(kind="status", endpoint="toggl.search_time_entries", every_n=4),)
        )
    )
    async with pipeline_env(
        temporal_client, tmp_path, toggl=toggl, toggl__page_size=50, http__max_retries=0
    ) as env:
        folder, meta = await env.run()
        searches = env.sims.toggl.stats()["toggl.search_time_entries"]
    assert meta.status == "completed", meta.error
    raw = folder.load(RAW_TOGGL, RawTogglData)
    pages = meta.statistics["toggl"]["pages"]  # report pages of (grouped) rows, as stored
    assert pages >= 4
    failures = searches - pages
    assert failures >= 2
    assert searches < 2 * pages  # restarting would refetch every page before each failure
    assert len({e.id for e in raw.entries}) == len(raw.entries)
    assert {e.id for e in raw.entries} == local_week(env.workspace)


def skew_toggl_totals(env: PipelineEnv, *, skew: int, times: int) -> None:
    """The worker's Toggl client sees the first ``times`` totals ``skew`` seconds off."""
    transport = SkewedTotals(httpx.AsyncHTTPTransport(), skew=skew, times=times)
    env.activities._toggl = TogglClient.create(  # the worker builds it lazily otherwise
        env.settings.toggl, env.settings.http, SecretStr(env.sims.toggl.token), transport
    )


async def test_disagreeing_totals_refetch_everything_once(
    temporal_client: Client, tmp_path: Path
) -> None:
    async with pipeline_env(temporal_client, tmp_path) as env:
        skew_toggl_totals(env, skew=120, times=1)
        folder, meta = await env.run()
        counts = env.sims.toggl.stats()
    assert meta.status == "completed", meta.error
    fetched = meta.statistics["toggl"]
    assert fetched["completeness"]["agreed"] is True
    assert fetched["completeness"]["attempts"] == 2
    assert counts["toggl.search_time_entries"] == 2 * fetched["pages"]  # from scratch, not resumed
    assert counts["toggl.search_totals"] == 2
    raw = folder.load(RAW_TOGGL, RawTogglData)
    assert {e.id for e in raw.entries} == local_week(env.workspace)


async def test_totals_that_disagree_twice_fail_the_run_with_both_numbers(
    temporal_client: Client, tmp_path: Path
) -> None:
    async with pipeline_env(temporal_client, tmp_path) as env:
        skew_toggl_totals(env, skew=-300, times=2)
        folder, meta = await env.run()
        counts = env.sims.toggl.stats()
    assert meta.status == "failed"
    assert meta.stages_failed == ["toggl"]
    assert meta.error is not None
    assert "\n" not in meta.error
    assert "again after a fresh fetch" in meta.error
    numbers = [int(n) for n in re.findall(r"(-?\d+) s\b", meta.error)]
    assert len(numbers) == 2
    assert numbers[1] - numbers[0] == 300
    assert counts["toggl.search_totals"] == 2  # non-retryable: no third fetch
    assert not folder.exists(RAW_TOGGL)
