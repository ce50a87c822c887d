"""The Toggl fetch through waits, on a real Temporal dev server against the simulators:
an attempt that overlaps a zombie attempt (review finding C1), and a used-up hourly quota
that the run waits out (finding M1, issue 10 acceptance)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from temporalio import activity
from temporalio import client as temporal_clients
from temporalio.client import Client
from temporalio.worker import (
    ActivityInboundInterceptor,
    ActivityOutboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from tests.integration.pipeline_env import local_week, pipeline_env
from volt_agent.domain.models import RawTogglData
from volt_agent.runner import follow_progress
from volt_agent.sandbox import FaultPlan, FaultRule, TogglSimulatorOptions
from volt_agent.storage.run_folder import RAW_TOGGL, open_run_folder
from volt_agent.storage.run_metadata import load_metadata

pytestmark = pytest.mark.integration

FETCH = "fetch_toggl_data"
SEARCH = "toggl.search_time_entries"


@dataclass
class Partition(temporal_clients.Interceptor, Interceptor):
    """Cuts attempt 1 of the fetch off from the Temporal server once it has stored
    ``after_pages`` pages: its heartbeats are lost, while it still reaches Toggl and the run
    folder (a worker partitioned from the server). Temporal then times it out and starts
    attempt 2, and both run at once. Records when each fetch attempt ran. A client
    interceptor too: the workers of a client with it use it."""

    after_pages: int = 2
    runs: dict[int, tuple[float, float]] = field(default_factory=dict)

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next, self)


class _Inbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, partition: Partition) -> None:
        super().__init__(next)
        self.partition = partition

    def init(self, outbound: ActivityOutboundInterceptor) -> None:
        super().init(_Outbound(outbound, self.partition))

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        if info.activity_type != FETCH:
            return await super().execute_activity(input)
        started = time.monotonic()
        try:
            return await super().execute_activity(input)
        finally:
            self.partition.runs[info.attempt] = (started, time.monotonic())


class _Outbound(ActivityOutboundInterceptor):
    def __init__(self, next: ActivityOutboundInterceptor, partition: Partition) -> None:
        super().__init__(next)
        self.partition = partition

    def heartbeat(self, *details: Any) -> None:
        info = self.info()
        if info.activity_type == FETCH and info.attempt == 1 and details:
            pages = details[0].get("pages", 0) if isinstance(details[0], dict) else 0
            if pages >= self.partition.after_pages:
                return
        super().heartbeat(*details)


async def test_a_zombie_attempt_neither_shifts_nor_drops_a_page(
    temporal_client: Client, tmp_path: Path
) -> None:
    """C1: a 2 s heartbeat timeout; every report page takes 0.4 s and every 5th 2.5 s more
    (longer than the timeout: the live attempt heartbeats through it). Attempt 1 is cut off
    after its second page and keeps fetching and storing pages while attempt 2 resumes from
    its last heartbeat and stores the same positions. The fetched ids are the workspace's."""
    toggl = TogglSimulatorOptions(
        faults=FaultPlan(
            rules=(
                FaultRule(kind="slow", endpoint=SEARCH, delay_seconds=0.4),
                FaultRule(kind="slow", endpoint=SEARCH, delay_seconds=2.5, every_n=5),
            )
        )
    )
    partition = Partition(after_pages=2)
    client = Client(**{**temporal_client.config(), "interceptors": [partition]})
    async with pipeline_env(
        client,
        tmp_path,
        toggl=toggl,
        toggl__page_size=50,
        retry__heartbeat_timeout_seconds=2,
        api_queues__max_concurrent_toggl=2,  # one worker runs both attempts at once
    ) as env:
        folder, meta = await env.run()
        searches = env.sims.toggl.stats()[SEARCH]
        for _ in range(100):  # the zombie may still be finishing
            if 1 in partition.runs:
                break
            await asyncio.sleep(0.1)
    assert meta.status == "completed", meta.error
    raw = folder.load(RAW_TOGGL, RawTogglData)
    ids = [e.id for e in raw.entries]
    assert len(ids) == len(set(ids))
    assert set(ids) == local_week(env.workspace)
    fetched = meta.statistics["toggl"]
    assert fetched["completeness"]["agreed"] is True
    assert fetched["statistics"]["duplicates_dropped"] == 0
    assert {1, 2} <= set(partition.runs)
    (first_start, first_end), (second_start, _) = partition.runs[1], partition.runs[2]
    assert first_start < second_start < first_end  # the two attempts overlapped
    assert searches > fetched["pages"]  # both attempts fetched pages


async def test_a_used_up_hourly_quota_is_waited_out_unattended(
    temporal_client: Client, tmp_path: Path
) -> None:
    """Issue 10 acceptance: 5 requests per 12 s "hour"; the fetch needs 13 (users, 11 report
    pages, totals), so 3 windows. Each reset is further away than one wait may take (0.8 x
    the 4 s heartbeat timeout): the attempt ends with the reset as its retry delay, the next
    resumes from the page journal, and `show-run --follow` says what it waits for."""
    toggl = TogglSimulatorOptions(hourly_quota=5, quota_window_seconds=12)
    async with pipeline_env(
        temporal_client,
        tmp_path,
        toggl=toggl,
        toggl__page_size=50,
        retry__heartbeat_timeout_seconds=4,
        retry__maximum_attempts=2,  # the fetch is bounded by time, not by this
    ) as env:
        params, handle = await env.start()
        console = Console(record=True, width=200, force_terminal=False)
        started = time.monotonic()
        await follow_progress(handle, console)
        took = time.monotonic() - started
        counts = env.sims.toggl.stats()
    folder = open_run_folder(env.settings, params.run_id)
    meta = load_metadata(folder)
    assert meta is not None
    assert meta.status == "completed", meta.error
    raw = folder.load(RAW_TOGGL, RawTogglData)
    assert {e.id for e in raw.entries} == local_week(env.workspace)
    fetched = meta.statistics["toggl"]
    assert fetched["pages"] == 11
    assert fetched["resumed_from_page"] > 0  # the last attempt went on from its journal
    windows = 3
    assert took >= (windows - 1) * 12
    assert counts["quota_exceeded"] <= windows  # never more than one 402 per window
    shown = console.export_text()
    assert "waiting for the Toggl quota until" in shown
