"""The best public peer's strategy (Pipedream's Toggl search action): counted and replayed."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from benchmarks.peer_strategy import (
    MAX_RESULTS,
    estimate_peer,
    peer_counts,
    peer_lower_bound_seconds,
    run_peer,
)

from volt_agent.sandbox import WorkspaceSpec, generate_workspace, run_simulators


@pytest.mark.parametrize(
    ("rows", "pages", "totals"),
    [
        (0, 1, 1),  # an empty report still costs its page
        (50, 1, 1),
        (51, 2, 1),
        (2276, 46, 1),
        (MAX_RESULTS, 200, 1),
        (MAX_RESULTS + 1, 201, 2),  # a second invocation: its own first page and totals
        (91810, 1837, 10),
    ],
)
def test_pages_of_50_and_one_totals_per_invocation(rows: int, pages: int, totals: int) -> None:
    assert peer_counts(rows) == (pages, totals)


def test_the_lower_bound_counts_one_pause_per_page_and_every_latency() -> None:
    assert peer_lower_bound_seconds(46, 1, 0.1) == pytest.approx(46 * 1.0 + 47 * 0.1)


def test_the_estimate_counts_the_entries_of_the_range() -> None:
    workspace = generate_workspace(WorkspaceSpec(users=3, days=3, seed=4))
    start = WorkspaceSpec(users=3, days=3, seed=4).start_date
    end = start + timedelta(days=2)
    rows = sum(1 for e in workspace.time_entries if start <= e.start.astimezone(UTC).date() <= end)
    peer = estimate_peer(workspace.time_entries, start, end, least_latency=0.1)
    pages, totals = peer_counts(rows)
    assert (peer.mode, peer.rows) == ("estimate", rows)
    assert (peer.pages, peer.totals_requests) == (pages, totals)
    assert peer.toggl_requests == pages + totals
    assert peer.as_dict()["fibery_requests"] == 0


async def test_the_replay_reads_every_row_in_50_row_pages_then_the_totals() -> None:
    spec = WorkspaceSpec(users=4, days=3, seed=9)
    workspace = generate_workspace(spec)
    start, end = spec.start_date, spec.start_date + timedelta(days=2)
    with run_simulators(workspace) as sims:
        peer = await run_peer(sims, start, end, pause=0.0)
        counts = sims.toggl.stats()
    assert peer.rows > 50  # more than one page
    assert peer.pages == -(-peer.rows // 50)
    assert counts["toggl.search_time_entries"] == peer.pages
    assert counts["toggl.search_totals"] == 1
    assert peer.toggl_requests == peer.pages + 1 == counts["requests"]
    assert counts.get("toggl.me", 0) == counts.get("toggl.workspace_users", 0) == 0
