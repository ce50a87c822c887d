"""The mechanics of ``bench org-free`` in seconds: the real Toggl client fetching from the
simulator over loopback under a tiny fixed-window quota, counted from the request log the
benchmark reads (``benchmarks.variant.logged_simulators``, ``benchmarks.quota_count``)."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
from benchmarks.quota_count import extra_402s, quota_windows, windows_needed
from benchmarks.variant import logged_simulators
from pydantic import SecretStr

from tests.integration.client_settings import FAST_HTTP
from volt_agent.config import TogglSettings
from volt_agent.sandbox import (
    FiberySimulatorOptions,
    TogglSimulatorOptions,
    WorkspaceSpec,
    generate_workspace,
)
from volt_agent.sources.toggl import TogglClient

pytestmark = pytest.mark.integration

SPEC = WorkspaceSpec(users=4, days=3, seed=7)
QUOTA = 3
WINDOW = 1.5


def quota_options() -> TogglSimulatorOptions:
    return TogglSimulatorOptions(
        hourly_quota=QUOTA,
        me_hourly_quota=None,
        quota_window="fixed",
        quota_window_seconds=WINDOW,
    )


async def test_a_fetch_under_a_tiny_quota_waits_each_window_out_without_extra_402s() -> None:
    workspace = generate_workspace(SPEC)
    start = SPEC.start_date
    end = start + timedelta(days=SPEC.days - 1)
    with logged_simulators(workspace, quota_options(), FiberySimulatorOptions()) as (sims, log):
        settings = TogglSettings(
            base_url=sims.toggl.base_url,
            workspace_id=sims.workspace_id,
            page_size=10,
            requests_per_second=50.0,
            max_quota_wait_seconds=5,
        )
        began = time.monotonic()
        async with TogglClient.create(settings, FAST_HTTP, SecretStr(sims.toggl.token)) as client:
            entries, _ = await client.fetch_time_entries(start, end)
        elapsed = time.monotonic() - began
        events = log.events()
    windows = quota_windows(events, WINDOW)
    admitted = sum(w.admitted for w in windows)
    assert entries
    assert admitted > 2 * QUOTA  # at least three windows: the waits really happened
    assert all(w.admitted <= QUOTA for w in windows)
    assert len(windows) == windows_needed(admitted, QUOTA)
    assert extra_402s(windows) == 0
    assert (len(windows) - 1) * WINDOW <= elapsed <= 1.1 * len(windows) * WINDOW + 1.0


async def test_a_client_that_ignores_the_quota_shows_as_extra_402s() -> None:
    """The check can fail: requests sent after the quota said 0 are counted per window."""
    workspace = generate_workspace(SPEC)
    with logged_simulators(workspace, quota_options(), FiberySimulatorOptions()) as (sims, log):
        url = f"{sims.toggl.base_url}/api/v9/workspaces/{sims.workspace_id}/users"
        async with httpx.AsyncClient(auth=(sims.toggl.token, "api_token")) as http:
            statuses = [(await http.get(url)).status_code for _ in range(QUOTA + 3)]
        events = log.events()
    assert statuses == [200] * QUOTA + [402] * 3
    windows = quota_windows(events, WINDOW)
    assert [(w.admitted, w.refused) for w in windows] == [(QUOTA, 3)]
    assert extra_402s(windows) == 2
