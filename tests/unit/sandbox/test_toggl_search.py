"""The Toggl simulator's detailed report: headers, time zones, page-size cap, cursor modes,
ordering and totals (each switch of ``TogglSimulatorOptions`` played once)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from volt_agent.sandbox import (
    TimeEntryRecord,
    TogglSimulatorOptions,
    TogglUserRecord,
    Workspace,
    create_toggl_app,
)
from volt_agent.sandbox._toggl_search import EntryIndex, ReportFilter, SearchQuery
from volt_agent.sandbox.toggl_sim import SEARCH_TOTALS

from ._helpers import FakeClock, toggl_client
from .test_toggl_sim import END, START, creator_day, entries_between, search_path, walk

FIRST, LAST = date.fromisoformat(START), date.fromisoformat(END)
WEEK = {"start_date": START, "end_date": END}


def totals_path(workspace: Workspace) -> str:
    return search_path(workspace) + "/totals"


def ids_of(rows: list[dict[str, Any]]) -> list[int]:
    return [entry["id"] for row in rows for entry in row["time_entries"]]


def day_in(workspace: Workspace, entry: TimeEntryRecord, zone_name: str) -> date:
    return entry.start.astimezone(ZoneInfo(zone_name)).date()


async def post(app: Any, path: str, body: dict[str, Any]) -> httpx.Response:
    async with toggl_client(app) as client:
        return await client.post(path, json=body)


# ------------------------------------------------------------------ the generated workspace


def test_workspace_spans_the_date_line_with_entries_at_local_midnight(
    workspace: Workspace,
) -> None:
    zones = {u.timezone for u in workspace.toggl_users}
    assert {"America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata", "Pacific/Tongatapu"} <= zones
    noon = datetime(2026, 11, 16, 12, tzinfo=UTC)
    offsets = {noon.astimezone(ZoneInfo(zone)).utcoffset() for zone in zones}
    assert {timedelta(hours=-8), timedelta(hours=1), timedelta(hours=5, minutes=30)} <= offsets
    assert timedelta(hours=13) in offsets
    zone_of = {u.id: u.timezone for u in workspace.toggl_users}
    edges: set[tuple[str, str]] = set()
    for entry in workspace.time_entries:
        zone = zone_of[entry.user_id]
        local = entry.start.astimezone(ZoneInfo(zone))
        if local.date() == FIRST and local.hour == 0 and local.minute < 30:
            edges.add(("just after the first midnight", zone))
        if local.date() == LAST and (local.hour, local.minute) >= (23, 30):
            edges.add(("just before the last midnight", zone))
    assert len(edges) >= 8  # both edges, in each of the four zones


# ------------------------------------------------------------------ headers and rendering


async def test_headers_of_a_page_with_a_next_page(workspace: Workspace) -> None:
    response = await post(
        create_toggl_app(workspace), search_path(workspace), {**WEEK, "page_size": 10}
    )
    rows = response.json()
    assert len(rows) == 10
    headers = response.headers
    assert (headers["X-Range-Start"], headers["X-Range-End"], headers["X-Page-Size"]) == (
        START,
        END,
        "10",
    )
    expected = sorted(
        (e for e in workspace.time_entries if FIRST <= creator_day(workspace, e) <= LAST),
        key=lambda e: (e.start, e.id),
    )
    following = expected[10]
    assert headers["X-Next-ID"] == str(following.id)
    assert headers["X-Next-Row-Number"] == "11"
    assert headers["X-Next-Timestamp"] == str(int(following.start.timestamp()))
    assert "X-Is-Final" not in headers


async def test_times_are_in_the_token_users_offset_valid_at_that_instant() -> None:
    """Berlin leaves summer time on 2026-10-25: the same token user, two offsets."""
    me = TogglUserRecord(1, "me@x.example", "Me", "Europe/Berlin")
    other = TogglUserRecord(2, "la@x.example", "LA", "America/Los_Angeles")

    def entry(entry_id: int, user: TogglUserRecord, start: datetime) -> TimeEntryRecord:
        stop = start + timedelta(minutes=30)
        return TimeEntryRecord(
            entry_id, user.id, "work", None, None, False, (), start, stop, 1800, stop
        )

    entries = [
        entry(10, other, datetime(2026, 10, 24, 16, 0, tzinfo=UTC)),
        entry(11, me, datetime(2026, 10, 26, 9, 0, tzinfo=UTC)),
    ]
    index = EntryIndex(entries, [me, other], me)
    page = index.search(
        SearchQuery(ReportFilter(date(2026, 10, 24), date(2026, 10, 26))), "row_number"
    )
    summer, winter = (row["time_entries"][0] for row in page.rows)
    assert summer["start"] == "2026-10-24T18:00:00+02:00"
    assert summer["stop"] == "2026-10-24T18:30:00+02:00"
    assert summer["at"] == "2026-10-24T16:30:00+00:00"
    assert summer["at_tz"] == "2026-10-24T18:30:00+02:00"
    assert winter["start"] == "2026-10-26T10:00:00+01:00"


@pytest.mark.parametrize("zone", ["creator", "token_user"])
async def test_dates_are_filtered_in_the_chosen_zone(workspace: Workspace, zone: str) -> None:
    options = TogglSimulatorOptions(date_filter_zone=zone)  # type: ignore[arg-type]
    app = create_toggl_app(workspace, options)
    async with toggl_client(app) as client:
        rows, _ = await walk(client, workspace, {**WEEK, "page_size": 200})
    by_creator = set(entries_between(workspace, FIRST, LAST))
    by_token_user = {
        e.id
        for e in workspace.time_entries
        if FIRST <= day_in(workspace, e, workspace.me.timezone) <= LAST
    }
    by_utc = {e.id for e in workspace.time_entries if FIRST <= e.start.date() <= LAST}
    assert len({frozenset(by_creator), frozenset(by_token_user), frozenset(by_utc)}) == 3
    assert set(ids_of(rows)) == (by_creator if zone == "creator" else by_token_user)
    assert len(ids_of(rows)) == len(set(ids_of(rows)))


async def test_one_local_day_holds_each_creators_entries_of_that_day(
    workspace: Workspace,
) -> None:
    """A Tongatapu entry at 00:07 on the first day is on the previous UTC (and Berlin) day;
    an LA entry at 23:31 on the last day is on the next one: both belong to their own day."""
    app = create_toggl_app(workspace)
    async with toggl_client(app) as client:
        first, _ = await walk(client, workspace, {"start_date": START, "end_date": START})
        last, _ = await walk(client, workspace, {"start_date": END, "end_date": END})
    zone_of = {u.id: u.timezone for u in workspace.toggl_users}
    found = {e.id: e for e in workspace.time_entries}
    first_ids, last_ids = set(ids_of(first)), set(ids_of(last))
    assert any(
        zone_of[found[i].user_id] == "Pacific/Tongatapu" and found[i].start.date() < FIRST
        for i in first_ids
    )
    assert any(
        zone_of[found[i].user_id] == "America/Los_Angeles" and found[i].start.date() > LAST
        for i in last_ids
    )
    assert first_ids == set(entries_between(workspace, FIRST, FIRST))
    assert last_ids == set(entries_between(workspace, LAST, LAST))


# ------------------------------------------------------------------ page size


async def test_without_page_size_a_page_holds_the_documented_50(workspace: Workspace) -> None:
    response = await post(create_toggl_app(workspace), search_path(workspace), WEEK)
    assert len(response.json()) == 50
    assert response.headers["X-Page-Size"] == "50"
    assert response.headers["X-Next-Row-Number"] == "51"


@pytest.mark.parametrize("cap", [50, 200, 1000])
async def test_clamp_answers_at_most_the_cap(workspace: Workspace, cap: int) -> None:
    app = create_toggl_app(workspace, TogglSimulatorOptions(max_page_size=cap))
    response = await post(app, search_path(workspace), {**WEEK, "page_size": 1000})
    total = len(entries_between(workspace, FIRST, LAST))
    assert response.status_code == 200
    assert response.headers["X-Page-Size"] == str(cap)
    assert len(response.json()) == min(cap, total)
    assert ("X-Next-Row-Number" in response.headers) is (total > cap)


@pytest.mark.parametrize("cap", [50, 200, 1000])
async def test_reject_refuses_a_page_size_over_the_cap(workspace: Workspace, cap: int) -> None:
    options = TogglSimulatorOptions(max_page_size=cap, page_size_mode="reject")
    app = create_toggl_app(workspace, options)
    over = await post(app, search_path(workspace), {**WEEK, "page_size": cap + 1})
    at_cap = await post(app, search_path(workspace), {**WEEK, "page_size": cap})
    assert over.status_code == 400
    assert over.headers["content-type"].startswith("text/plain")
    assert "page_size" in over.text
    assert str(cap) in over.text
    assert at_cap.status_code == 200
    assert at_cap.headers["X-Page-Size"] == str(cap)


# ------------------------------------------------------------------ cursor modes


async def two_pages(
    workspace: Workspace, mode: str, cursor: dict[str, str], grouped: bool = False
) -> tuple[httpx.Response, httpx.Response]:
    """The first page and a follow-up sent with the ``cursor`` fields (from its headers)."""
    options = TogglSimulatorOptions(cursor_mode=mode)  # type: ignore[arg-type]
    body = {**WEEK, "page_size": 20, "grouped": grouped}
    async with toggl_client(create_toggl_app(workspace, options)) as client:
        first = await client.post(search_path(workspace), json=body)
        follow_up = {name: int(first.headers[header]) for name, header in cursor.items()}
        second = await client.post(search_path(workspace), json={**body, **follow_up})
    return first, second


ROW = {"first_row_number": "X-Next-Row-Number"}
ID = {"first_id": "X-Next-ID"}
ID_ROW = ID | ROW
ALL = ID_ROW | {"first_timestamp": "X-Next-Timestamp"}


@pytest.mark.parametrize(
    ("mode", "cursor", "outcome"),
    [
        ("row_number", ROW, "resumes"),
        ("row_number", ALL, "resumes"),
        ("id_and_row_number", ROW, "restarts"),
        ("id_and_row_number", ID_ROW, "resumes"),
        ("id_and_row_number", ALL, "resumes"),
        ("id_and_row_number", ID, "resumes"),
        ("id_row_number_bug", ROW, "resumes"),
        ("id_row_number_bug", ID, "resumes"),
        ("id_row_number_bug", ID_ROW, "empty"),
        ("id_row_number_bug", ALL, "empty"),
    ],
)
@pytest.mark.parametrize("grouped", [False, True])
async def test_cursor_modes(
    workspace: Workspace, mode: str, cursor: dict[str, str], outcome: str, grouped: bool
) -> None:
    first, second = await two_pages(workspace, mode, cursor, grouped)
    rows = second.json()
    if outcome == "resumes":
        assert rows[0]["time_entries"][0]["id"] == int(first.headers["X-Next-ID"])
        assert rows[0]["row_number"] == 21
        assert not set(ids_of(rows)) & set(ids_of(first.json()))
    elif outcome == "restarts":
        assert rows == first.json()
        assert second.headers["X-Next-Row-Number"] == "21"
    else:
        assert (second.status_code, rows) == (200, [])
        assert "X-Next-Row-Number" not in second.headers
        assert "X-Next-ID" not in second.headers


@pytest.mark.parametrize(
    ("mode", "cursor"),
    [("row_number", ALL), ("id_and_row_number", ALL), ("id_row_number_bug", ROW)],
)
@pytest.mark.parametrize("grouped", [False, True])
async def test_every_mode_pages_every_entry_once_with_its_working_cursor(
    workspace: Workspace, mode: str, cursor: dict[str, str], grouped: bool
) -> None:
    options = TogglSimulatorOptions(cursor_mode=mode)  # type: ignore[arg-type]
    body: dict[str, Any] = {**WEEK, "page_size": 30, "grouped": grouped}
    rows: list[dict[str, Any]] = []
    promised: int | None = None
    sent: dict[str, int] = {}
    async with toggl_client(create_toggl_app(workspace, options)) as client:
        while True:
            response = await client.post(search_path(workspace), json=body | sent)
            page = response.json()
            if promised is not None:  # X-Next-ID: the first entry of the page's first row
                assert page[0]["time_entries"][0]["id"] == promised
            rows += page
            if "X-Next-ID" not in response.headers:
                break
            promised = int(response.headers["X-Next-ID"])
            sent = {name: int(response.headers[header]) for name, header in cursor.items()}
    assert Counter(ids_of(rows)) == Counter(entries_between(workspace, FIRST, LAST))
    assert [row["row_number"] for row in rows] == list(range(1, len(rows) + 1))
    assert any(len(row["time_entries"]) > 1 for row in rows) is grouped


async def test_an_unknown_first_id_is_refused_where_ids_resume(workspace: Workspace) -> None:
    options = TogglSimulatorOptions(cursor_mode="id_row_number_bug")
    response = await post(
        create_toggl_app(workspace, options), search_path(workspace), {**WEEK, "first_id": 1}
    )
    assert response.status_code == 400
    assert "first_id" in response.text


# ------------------------------------------------------------------ ordering


@pytest.mark.parametrize("order_by", ["date", "user", "duration", "description", "last_update"])
@pytest.mark.parametrize("order_dir", ["ASC", "DESC"])
async def test_every_documented_order_is_served(
    workspace: Workspace, order_by: str, order_dir: str
) -> None:
    app = create_toggl_app(workspace)
    body = {**WEEK, "page_size": 200, "order_by": order_by, "order_dir": order_dir}
    async with toggl_client(app) as client:
        rows, _ = await walk(client, workspace, body)
    assert Counter(ids_of(rows)) == Counter(entries_between(workspace, FIRST, LAST))
    found = {e.id: e for e in workspace.time_entries}
    entries = [found[row["time_entries"][0]["id"]] for row in rows]
    keys: dict[str, Any] = {
        "date": lambda e: e.start,
        "user": lambda e: next(
            u.fullname for u in workspace.toggl_users if u.id == e.user_id
        ).lower(),
        "duration": lambda e: e.seconds,
        "description": lambda e: e.description.lower(),
        "last_update": lambda e: e.at,
    }
    values = [keys[order_by](e) for e in entries]
    assert values == sorted(values, reverse=order_dir == "DESC")


# ------------------------------------------------------------------ totals


async def test_totals_sum_the_same_filters(workspace: Workspace) -> None:
    app = create_toggl_app(workspace)
    chosen = [workspace.toggl_users[0].id, workspace.toggl_users[2].id]
    async with toggl_client(app) as client:
        week = await client.post(totals_path(workspace), json={**WEEK, "grouped": True})
        some = await client.post(totals_path(workspace), json={**WEEK, "user_ids": chosen})
        empty = await client.post(
            totals_path(workspace), json={"start_date": "2025-01-01", "end_date": "2025-01-01"}
        )
    expected = [e for e in workspace.time_entries if FIRST <= creator_day(workspace, e) <= LAST]
    body = week.json()
    assert set(body) == {
        "seconds",
        "tracked_days",
        "resolution",
        "billable_amount_in_cents",
        "labour_cost_in_cents",
        "rates",
        "graph",
    }
    assert body["seconds"] == sum(e.seconds for e in expected)
    assert body["tracked_days"] == len({creator_day(workspace, e) for e in expected})
    assert body["graph"] == []
    assert body["rates"][0]["billable_seconds"] == sum(e.seconds for e in expected if e.billable)
    assert (week.headers["X-Range-Start"], week.headers["X-Range-End"]) == (START, END)
    assert "X-Page-Size" not in week.headers
    assert some.json()["seconds"] == sum(e.seconds for e in expected if e.user_id in chosen)
    assert empty.json()["seconds"] == empty.json()["tracked_days"] == 0
    assert empty.json()["rates"] == []


async def test_totals_are_their_own_endpoint_behind_the_same_admission(
    workspace: Workspace,
) -> None:
    clock = FakeClock()
    app = create_toggl_app(workspace, TogglSimulatorOptions(hourly_quota=2, clock=clock))
    async with toggl_client(app) as client:
        search = await client.post(search_path(workspace), json=WEEK)
        totals = await client.post(totals_path(workspace), json=WEEK)
        over = await client.post(totals_path(workspace), json=WEEK)
    async with toggl_client(app, token="wrong") as stranger:
        refused = await stranger.post(totals_path(workspace), json=WEEK)
    assert (search.status_code, totals.status_code, over.status_code) == (200, 200, 402)
    assert totals.headers["X-Toggl-Quota-Remaining"] == "0"  # the search counted too
    assert refused.status_code == 403
    stats = app.state.stats.snapshot()
    assert stats[SEARCH_TOTALS] == 3
    assert stats["toggl.search_time_entries"] == 1


async def test_totals_refuse_a_bad_body(workspace: Workspace) -> None:
    app = create_toggl_app(workspace)
    missing = await post(app, totals_path(workspace), {"start_date": START})
    reversed_range = await post(app, totals_path(workspace), {"start_date": END, "end_date": START})
    assert (missing.status_code, reversed_range.status_code) == (400, 400)
    assert "end_date" in missing.text


async def test_member_token_totals_cover_only_its_own_entries(workspace: Workspace) -> None:
    options = TogglSimulatorOptions(token_role="member")
    response = await post(create_toggl_app(workspace, options), totals_path(workspace), WEEK)
    own = [
        e
        for e in workspace.time_entries
        if e.user_id == workspace.me.id and FIRST <= creator_day(workspace, e) <= LAST
    ]
    assert response.json()["seconds"] == sum(e.seconds for e in own)


@pytest.mark.parametrize(
    "kwargs",
    [{"cursor_mode": "first_id"}, {"page_size_mode": "truncate"}, {"date_filter_zone": "utc"}],
)
def test_invalid_search_options_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        TogglSimulatorOptions(**kwargs)
