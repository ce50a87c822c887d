"""``TogglClient`` against the Toggl simulator over real sockets.

Each test checks what the client returns and what the simulator saw (its request counters),
so a client that quietly sends more requests than it should fails here.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import aclosing
from datetime import UTC, date, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from tests.integration.client_settings import FAST_HTTP, RETRY_AFTER_HTTP
from volt_agent.config import HttpSettings, TogglSettings
from volt_agent.domain.models import TimeEntry
from volt_agent.errors import (
    AuthError,
    FeatureNotEnabledError,
    QuotaWaitError,
    ResponseFormatError,
    UserInputError,
)
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
    """The workspace's entries whose start date in their creator's time zone lies in
    ``[start, end]`` (how the report filters dates)."""
    zones = {u.id: ZoneInfo(u.timezone) for u in workspace.toggl_users}
    return [
        e
        for e in workspace.time_entries
        if start <= e.start.astimezone(zones[e.user_id]).date() <= end
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
    [(START + timedelta(days=1), END), (START + timedelta(days=2), START + timedelta(days=2))],
    ids=["all-but-the-first-day", "one-day"],
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
    # the 403 is checked against /me/workspaces: a member of the workspace would be listed
    assert (counts["toggl.workspace_users"], counts["toggl.me_workspaces"]) == (1, 1)
    assert counts["requests"] == 2


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


async def test_hourly_quota_is_a_one_line_quota_wait(workspace: Workspace) -> None:
    """The answer that spends the last request says ``Remaining: 0``: the next request is not
    sent (it would be a sure 402); the reset, an hour away, is the wait the caller gets."""
    options = TogglSimulatorOptions(hourly_quota=2)
    with run_simulators(workspace, options) as sims:
        async with client_for(sims, page_size=40) as client:
            with pytest.raises(QuotaWaitError) as caught:
                await client.fetch_time_entries(START, END)
            client_stats = client.stats
        counts = sims.toggl.stats()
    message = str(caught.value)
    assert "\n" not in message
    assert "quota is used up" in message
    assert "it resets in" in message
    assert 3500 < caught.value.resets_in <= 3600
    assert (counts[SEARCH], counts["quota_exceeded"], counts.get("status.402", 0)) == (2, 0, 0)
    assert (client_stats.total, client_stats.quota_exceeded, client_stats.retries) == (2, 0, 0)
    assert (client_stats.quota_remaining, client_stats.quota_remaining_min) == (0, 0)


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


# ------------------------------------------- quota budget, 402 kinds, users, projects, plan


async def test_quota_headers_are_recorded_in_the_client_stats(workspace: Workspace) -> None:
    with run_simulators(workspace) as sims:  # the strict default: Premium's 600 per hour
        async with client_for(sims, page_size=50) as client:
            await client.workspace_users()
            await client.fetch_time_entries(START, END)
            stats = client.stats.as_dict()
        counts = sims.toggl.stats()
    assert stats["quota_remaining"] == 600 - counts["requests"]
    assert stats["quota_remaining_min"] == stats["quota_remaining"]
    assert 3500 < stats["quota_resets_in"] <= 3600


async def test_a_feature_gated_search_is_a_feature_error_without_retries(
    workspace: Workspace,
) -> None:
    options = TogglSimulatorOptions(feature_gated_endpoints=frozenset({SEARCH}))
    with run_simulators(workspace, options) as sims:
        async with client_for(sims) as client:
            with pytest.raises(FeatureNotEnabledError) as caught:
                await client.fetch_time_entries(START, END)
            client_stats = client.stats
        counts = sims.toggl.stats()
    message = str(caught.value)
    assert not isinstance(caught.value, QuotaWaitError)
    assert "Workspace needs to have this feature enabled" in message
    assert "\n" not in message
    assert (client_stats.retries, client_stats.quota_waits, client_stats.quota_exceeded) == (
        0,
        0,
        0,
    )
    assert client_stats.quota_remaining is not None  # the gate's answer carried the quota
    assert (counts[SEARCH], counts["requests"], counts["feature_gated"]) == (1, 1, 1)


async def test_users_list_marks_inactive_users_and_the_token_admin(
    sims: Simulators, workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    inactive = workspace.toggl_users[4]
    assert workspace.entry_count_by_user()[inactive.id] > 0  # past time of a deactivated user
    async with client_for(sims) as client:
        users = await client.workspace_users()
        with caplog.at_level("WARNING", logger="volt_agent.sources.toggl"):
            [found] = await client.resolve_user_ids([inactive.email])
        is_admin = await client.token_is_admin()
    assert [u.id for u in users] == [u.id for u in workspace.toggl_users]
    assert [u.id for u in users if not u.active] == [inactive.id]
    assert all(u.timezone is None for u in users)  # the documented list has no time zone
    assert (found.id, found.active) == (inactive.id, False)
    assert inactive.fullname in caplog.text
    assert "deactivated" in caplog.text
    assert is_admin is True
    assert [(u.is_admin, u.role) for u in users[:2]] == [(True, "admin"), (False, "user")]
    counts = sims.toggl.stats()
    assert (counts["toggl.workspace_users"], counts["toggl.me"], counts["requests"]) == (1, 1, 2)


@pytest.mark.parametrize("member_users", ["all", "self", "forbidden"])
async def test_a_member_token_fetches_only_its_own_entries(
    sims: Simulators, workspace: Workspace, member_users: Literal["all", "self", "forbidden"]
) -> None:
    async with client_for(sims, page_size=200) as admin:
        everyone, _ = await admin.fetch_time_entries(START, END)
    me = workspace.me.id
    own = [e for e in everyone if e.user_id == me]
    assert own
    assert len(own) < len(everyone)
    options = TogglSimulatorOptions(token_role="member", member_users=member_users)
    with run_simulators(workspace, options) as member_sims:
        async with client_for(member_sims, page_size=200) as member:
            entries, _ = await member.fetch_time_entries(START, END)
            others, _ = await member.fetch_time_entries(START, END, [workspace.toggl_users[1].id])
            is_admin = await member.token_is_admin()
            users = await member.workspace_users()
            info = await member.workspace_info()
    assert sorted(map(entry_view, entries)) == sorted(map(entry_view, own))
    assert others == []
    assert is_admin is False
    assert me in {u.id for u in users}
    if member_users != "all":
        assert [u.id for u in users] == [me]
    assert info is not None
    assert (info.admin, info.role) == (False, "user")


async def test_projects_are_read_page_by_page(workspace: Workspace) -> None:
    options = TogglSimulatorOptions(extra_projects=450)
    total = len(workspace.toggl_projects) + 450
    with run_simulators(workspace, options) as sims:
        async with client_for(sims) as client:
            projects = await client.projects()
            again = await client.projects()
        counts = sims.toggl.stats()
    assert len(projects) == len({p.id for p in projects}) == total > 400
    assert again == projects
    archived = [p for p in projects if not p.active]
    assert any(p.name == "Legacy" for p in archived)
    assert len(archived) == 1 + 450 // 3
    assert {p.workspace_id for p in projects} == {workspace.workspace_id}
    assert (counts["toggl.projects"], counts["requests"]) == (3, 3)  # 200 + 200 + the rest


async def test_a_free_workspace_hides_entries_past_its_retention(
    sims: Simulators, workspace: Workspace
) -> None:
    async with client_for(sims, page_size=200) as unlimited:
        everything, _ = await unlimited.fetch_time_entries(START, END)
    oldest = END - timedelta(days=2)
    recent = [e for e in everything if e.start.astimezone(UTC).date() >= oldest]
    assert recent
    assert len(recent) < len(everything)
    options = TogglSimulatorOptions(data_retention_days=2, today=END)
    with run_simulators(workspace, options) as free:
        async with client_for(free, page_size=200) as client:
            entries, _ = await client.fetch_time_entries(START, END)
            info = await client.workspace_info()
            elsewhere = await client.workspace_info(free.workspace_id + 1)
        counts = free.toggl.stats()
    assert sorted(map(entry_view, entries)) == sorted(map(entry_view, recent))
    assert info is not None
    assert info.id == free.workspace_id
    assert (info.max_data_retention_days, info.premium, info.admin) == (2, False, True)
    assert elsewhere is None
    assert counts["toggl.me_workspaces"] == 1  # cached


async def test_workspace_info_of_a_paid_workspace(sims: Simulators) -> None:
    async with client_for(sims) as client:
        info = await client.workspace_info()
    assert info is not None
    assert (info.max_data_retention_days, info.premium, info.role) == (None, True, "admin")


# ------------------------------------- cursor modes x page-size modes x caps, and totals


@pytest.mark.parametrize("cap", [50, 200, 1000])
@pytest.mark.parametrize("page_mode", ["clamp", "reject"])
@pytest.mark.parametrize("cursor_mode", ["row_number", "id_and_row_number", "id_row_number_bug"])
async def test_the_whole_range_under_every_server_reading(
    workspace: Workspace, cursor_mode: str, page_mode: str, cap: int
) -> None:
    """Every entry of the sandbox, once, whatever the server does with cursors and page
    sizes; Toggl's totals then agree with the fetched seconds."""
    options = TogglSimulatorOptions(
        cursor_mode=cursor_mode,  # type: ignore[arg-type]
        page_size_mode=page_mode,  # type: ignore[arg-type]
        max_page_size=cap,
    )
    with run_simulators(workspace, options) as sims:
        async with client_for(sims, page_size=1000) as client:
            entries, stats = await client.fetch_time_entries(START, END)
            granted = client.page_size
            totals = await client.totals(START, END)
        counts = sims.toggl.stats()
    ids = [e.id for e in entries]
    assert len(ids) == len(set(ids)) == stats.entries_kept
    assert set(ids) == {e.id for e in workspace.time_entries}  # every local day is in range
    assert totals.seconds == sum(e.seconds for e in entries)
    assert totals.tracked_days == SPEC.days
    assert granted == min(cap, 1000)
    pages = pages_for(len(ids), granted)
    restart = 1 if cursor_mode == "id_and_row_number" and pages > 1 else 0
    refused = sum(1 for size in (1000, 200, 50) if size > cap) if page_mode == "reject" else 0
    assert counts[SEARCH] == pages + restart + refused
    assert counts.get("status.400", 0) == refused
    assert counts["toggl.search_totals"] == 1
