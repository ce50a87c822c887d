"""A page size the server refused is not asked again by the same client (issue 12)."""

from __future__ import annotations

import pytest

from tests.unit.sources.test_toggl_report import END, SPEC, START, Traced, client_of
from volt_agent.sandbox import Workspace, generate_workspace


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    return generate_workspace(SPEC)


async def test_a_second_fetch_asks_the_granted_size_without_a_refusal(
    workspace: Workspace,
) -> None:
    traced = Traced(workspace, page_size_mode="reject", max_page_size=50)
    async with client_of(traced, workspace) as client:
        first, _ = await client.fetch_time_entries(START, END)
        asked_first = [b["page_size"] for b in traced.bodies]
        traced.bodies.clear()
        second, _ = await client.fetch_time_entries(START, END)
        asked_second = [b["page_size"] for b in traced.bodies]
    assert sorted(e.id for e in second) == sorted(e.id for e in first)
    assert asked_first[:3] == [1000, 200, 50]  # two refusals, then the granted size
    assert set(asked_second) == {50}  # no refusal on the next fetch


async def test_a_clamping_server_costs_no_extra_request(workspace: Workspace) -> None:
    traced = Traced(workspace, page_size_mode="clamp", max_page_size=50)
    async with client_of(traced, workspace) as client:
        entries, stats = await client.fetch_time_entries(START, END)
        granted = client.page_size
    assert granted == 50
    assert len(traced.bodies) == -(-stats.rows_received // 50)
    assert traced.bodies[0]["page_size"] == 1000
    assert {b["page_size"] for b in traced.bodies[1:]} <= {50}
    assert entries
