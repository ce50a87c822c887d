"""``TogglClient`` against the Toggl simulator over real sockets.

Each test checks what the client returns and what the simulator saw (its request counters),
so a client that quietly sends more requests than it should fails here.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import aclosing
from datetime import UTC, date, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from tests.integration.client_settings import FAST_HTTP, RETRY_AFTER_HTTP
from volt_agent.config import HttpSettings, TogglSettings
from volt_agent.domain.models import TimeEntry
from volt_agent.errors import AuthError, QuotaExceededError, ResponseFormatError, UserInputError
from volt_agent.sandbox import (
    FaultPlan,
    FaultRule,
    Simulators,
    TimeEntryRecord,
    TogglSimulatorOptions,
    Workspace,
    WorkspaceSpec,
    generate_workspace,
    run_simulators,
)
from volt_agent.sources.pagination import PageCursor
from volt_agent.sources.toggl import TogglClient

pytestmark = pytest.mark.integration

SPEC = WorkspaceSpec(users=6, days=5, seed=11)
START = SPEC.start_date
END = SPEC.start_date + timedelta(days=SPEC.days - 1)
SEARCH = "toggl.search_time_entries"


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    return generate_workspace(SPEC)


@pytest.fixture(scope="module")
def shared(workspace: Workspace) -> Iterator[Simulators]:
    """Simulators without limits or faults, shared by the tests that only need counters."""
    with run_simulators(workspace) as running:
        yield running


@pytest.fixture
def sims(shared: Simulators) -> Simulators:
    shared.toggl.reset_stats()
    return shared


def client_for(
    sims: Simulators,
    *,
    page_size: int = 50,
    http: HttpSettings = FAST_HTTP,
    token: str | None = None,
    workspace_id: int | None = None,
    requests_per_second: float = 50.0,
    grouped: bool = False,
) -> TogglClient:
    """A client of the simulator; ungrouped rows (one entry per row) unless ``grouped``."""
    settings = TogglSettings(
        base_url=sims.toggl.base_url,
        workspace_id=sims.workspace_id if workspace_id is None else workspace_id,
        page_size=page_size,
        grouped=grouped,
        requests_per_second=requests_per_second,
        max_quota_wait_seconds=0,
    )
    return TogglClient.create(settings, http, SecretStr(token or sims.toggl.token))


def in_range(
    workspace: Workspace, start: date, end: date, user_ids: Sequence[int] | None = None
) -> list[TimeEntryRecord]:
    """The workspace's entries whose UTC start date lies in ``[start, end]``."""
    return [
        e
        for e in workspace.time_entries
        if start <= e.start.astimezone(UTC).date() <= end
        and (user_ids is None or e.user_id in user_ids)
    ]


def record_view(e: TimeEntryRecord) -> tuple[Any, ...]:
    return (e.id, e.user_id, e.description, e.project_id, e.seconds, e.start, e.stop)


def entry_view(e: TimeEntry) -> tuple[Any, ...]:
    return (e.id, e.user_id, e.description, e.project_id, e.seconds, e.start, e.stop)


def assert_same_entries(got: list[TimeEntry], expected: list[TimeEntryRecord]) -> None:
    assert len(got) == len({e.id for e in got}), "duplicate entries"
    assert sorted(map(entry_view, got)) == sorted(map(record_view, expected))
    assert sum(e.seconds for e in got) == sum(e.seconds for e in expected)


def pages_for(rows: int, page_size: int) -> int:
    return max(1, math.ceil(rows / page_size))


@pytest.mark.parametrize(
    ("start", "end"),
    [(START, END), (START + timedelta(days=2), START + timedelta(days=2))],
    ids=["whole-spec", "one-day"],
)
async def test_full_fetch_equals_the_workspace_entries_in_range(
    sims: Simulators, workspace: Workspace, start: date, end: date
) -> None:
    expected = in_range(workspace, start, end)
    assert 0 < len(expected) < len(workspace.time_entries)  # the range really filters
    async with client_for(sims, page_size=50) as client:
        entries, stats = await client.fetch_time_entries(start, end)
        request_count = client.request_count
    assert_same_entries(entries, expected)
    names = {u.id: u.fullname for u in workspace.toggl_users}
    assert all(e.user_name == names[e.user_id] for e in entries)
    assert (stats.rows_received, stats.entries_kept) == (len(expected), len(expected))
    pages = pages_for(len(expected), 50)
    counts = sims.toggl.stats()
    assert counts[SEARCH] == pages
    assert counts["requests"] == pages == request_count
    assert counts["status.200"] == pages


async def test_grouped_rows_give_the_same_entries_in_fewer_pages(
    sims: Simulators, workspace: Workspace
) -> None:
    expected = in_range(workspace, START, END)
    groups = {(e.user_id, e.description, e.project_id, e.task_id, e.billable, e.tag_ids)
              for e in expected}  # fmt: skip
    assert len(groups) < len(expected)  # people repeat entries: grouping saves pages
    async with client_for(sims, page_size=50, grouped=True) as client:
        entries, stats = await client.fetch_time_entries(START, END)
    assert_same_entries(entries, expected)
    assert (stats.rows_received, stats.entries_kept) == (len(expected), len(expected))
    counts = sims.toggl.stats()
    assert counts[SEARCH] == pages_for(len(groups), 50) < pages_for(len(expected), 50)


async def test_users_option_maps_emails_to_ids_and_filters(
    sims: Simulators, workspace: Workspace
) -> None:
    chosen = [workspace.toggl_users[1], workspace.toggl_users[3]]
    emails = [chosen[0].email.upper(), f"  {chosen[1].email} ", chosen[0].email]
    async with client_for(sims, page_size=50) as client:
        users = await client.resolve_user_ids(emails)
        again = await client.resolve_user_ids([chosen[1].email])
        entries, _ = await client.fetch_time_entries(START, END, [u.id for u in users])
    assert [u.id for u in users] == [chosen[0].id, chosen[1].id]
    assert [u.name for u in users] == [chosen[0].fullname, chosen[1].fullname]
    assert [u.id for u in again] == [chosen[1].id]
    expected = in_range(workspace, START, END, [u.id for u in chosen])
    assert {e.user_id for e in expected} == {u.id for u in chosen}
    assert_same_entries(entries, expected)
    counts = sims.toggl.stats()
    assert counts["toggl.workspace_users"] == 1  # cached for the second lookup
    assert counts[SEARCH] == pages_for(len(expected), 50)
    assert counts["requests"] == 1 + counts[SEARCH]


async def test_unknown_email_is_a_user_input_error(sims: Simulators, workspace: Workspace) -> None:
    known = workspace.toggl_users[0].email
    async with client_for(sims) as client:
        with pytest.raises(UserInputError) as caught:
            await client.resolve_user_ids([known, "nobody@nowhere.example"])
    assert "nobody@nowhere.example" in str(caught.value)
    assert known not in str(caught.value)
    counts = sims.toggl.stats()
    assert (counts["toggl.workspace_users"], counts[SEARCH], counts["requests"]) == (1, 0, 1)


async def test_wrong_token_is_an_auth_error_without_the_token(sims: Simulators) -> None:
    token = "wrong-token-5f3a9c1d7e"
    async with client_for(sims, token=token) as client:
        with pytest.raises(AuthError) as caught:
            await client.fetch_time_entries(START, END)
        assert client.stats.retries == 0
    message = str(caught.value)
    assert caught.value.status_code == 403
    assert token not in message
    assert "TOGGL_API_TOKEN" in message
    assert "\n" not in message
    counts = sims.toggl.stats()
    assert (counts[SEARCH], counts["requests"], counts["status.403"]) == (1, 1, 1)


async def test_workspace_without_access_is_an_auth_error(sims: Simulators) -> None:
    async with client_for(sims, workspace_id=sims.workspace_id + 1) as client:
        with pytest.raises(AuthError) as caught:
            await client.workspace_users()
    assert caught.value.status_code == 403
    counts = sims.toggl.stats()
    assert (counts["toggl.workspace_users"], counts["requests"]) == (1, 1)


async def test_real_rate_limit_is_waited_out_and_the_fetch_completes(
    workspace: Workspace,
) -> None:
    user = max(workspace.toggl_users, key=lambda u: workspace.entry_count_by_user()[u.id])
    expected = in_range(workspace, START, END, [user.id])
    page_size = math.ceil(len(expected) / 2)  # two pages: 3 requests, at most 2 refused
    options = TogglSimulatorOptions(requests_per_second=1.0)
    with run_simulators(workspace, options) as sims:
        async with client_for(
            sims, page_size=page_size, http=RETRY_AFTER_HTTP, requests_per_second=50.0
        ) as client:
            [found] = await client.resolve_user_ids([user.email])
            entries, _ = await client.fetch_time_entries(START, END, [found.id])
            client_stats = client.stats
        counts = sims.toggl.stats()
    assert_same_entries(entries, expected)
    refused = counts["rate_limited"]
    assert 1 <= refused <= 2
    assert counts["status.429"] == refused == client_stats.rate_limited == client_stats.retries
    assert client_stats.slept_seconds >= refused * 1.0  # Retry-After (1 s) was honoured
    assert counts[SEARCH] + counts["toggl.workspace_users"] == 3 + refused
    assert counts["requests"] == client_stats.total == 3 + refused


async def test_hourly_quota_is_a_one_line_quota_error(workspace: Workspace) -> None:
    options = TogglSimulatorOptions(hourly_quota=2)
    with run_simulators(workspace, options) as sims:
        async with client_for(sims, page_size=40) as client:
            with pytest.raises(QuotaExceededError) as caught:
                await client.fetch_time_entries(START, END)
            client_stats = client.stats
        counts = sims.toggl.stats()
    message = str(caught.value)
    assert "\n" not in message
    assert "402" in message
    assert "toggl.max_quota_wait_seconds" in message
    assert caught.value.resets_in is not None
    assert 3500 < caught.value.resets_in <= 3600
    assert (counts[SEARCH], counts["quota_exceeded"], counts["status.402"]) == (3, 1, 1)
    assert (client_stats.total, client_stats.quota_exceeded, client_stats.retries) == (3, 1, 0)


@pytest.mark.parametrize(
    ("rule", "faults"),
    [
        (FaultRule("status", SEARCH, status=503, first_n=2), 2),
        (FaultRule("status", SEARCH, status=500, first_n=2), 2),
        (FaultRule("malformed_json", SEARCH, first_n=1), 1),
        (FaultRule("drop", SEARCH, first_n=1), 1),
    ],
    ids=["503x2", "500x2", "malformed-json", "dropped-connection"],
)
async def test_transient_faults_are_retried_and_the_fetch_completes(
    workspace: Workspace, rule: FaultRule, faults: int
) -> None:
    expected = in_range(workspace, START, END)
    options = TogglSimulatorOptions(faults=FaultPlan((rule,)))
    with run_simulators(workspace, options) as sims:
        async with client_for(sims, page_size=200) as client:
            entries, stats = await client.fetch_time_entries(START, END)
            client_stats = client.stats
        counts = sims.toggl.stats()
    assert_same_entries(entries, expected)
    assert stats.duplicates_dropped == 0
    pages = pages_for(len(expected), 200)
    assert counts["faulted"] == faults == client_stats.retries
    assert counts[SEARCH] == counts["requests"] == pages + faults == client_stats.total


async def test_malformed_json_every_time_is_a_response_format_error(
    workspace: Workspace,
) -> None:
    options = TogglSimulatorOptions(faults=FaultPlan((FaultRule("malformed_json", SEARCH),)))
    with run_simulators(workspace, options) as sims:
        async with client_for(sims) as client:
            with pytest.raises(ResponseFormatError) as caught:
                await client.fetch_time_entries(START, END)
        counts = sims.toggl.stats()
    attempts = FAST_HTTP.max_retries + 1
    assert f"{attempts} attempts" in str(caught.value)
    assert counts[SEARCH] == counts["faulted"] == attempts


async def test_resume_from_the_last_cursor_completes_the_fetch(
    sims: Simulators, workspace: Workspace
) -> None:
    page_size, stop_after = 40, 3
    expected = in_range(workspace, START, END)
    pages = pages_for(len(expected), page_size)
    assert pages > stop_after + 1

    first_part: list[TimeEntry] = []
    cursor: PageCursor | None = None
    async with (
        client_for(sims, page_size=page_size) as client,
        aclosing(client.iter_time_entry_pages(START, END)) as stream,
    ):
        async for page in stream:
            first_part += page.entries
            cursor = page.next_cursor
            if client.request_count == stop_after:
                break
    assert cursor is not None
    assert sims.toggl.stats()[SEARCH] == stop_after

    stored = cursor.model_dump(mode="json")  # as a checkpoint would keep it
    second_part: list[TimeEntry] = []
    async with client_for(sims, page_size=page_size) as client:
        async for page in client.iter_time_entry_pages(
            START, END, cursor=PageCursor.model_validate(stored)
        ):
            second_part += page.entries
        last_cursor = page.next_cursor
    assert last_cursor is None

    assert not {e.id for e in first_part} & {e.id for e in second_part}
    assert_same_entries(first_part + second_part, expected)
    searches = sims.toggl.stats()[SEARCH]
    assert searches == pages  # nothing fetched twice
    assert searches < 2 * pages
