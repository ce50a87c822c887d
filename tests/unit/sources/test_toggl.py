"""``TogglClient`` over a small fake of the Track v9 and Reports v3 endpoints."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.unit.sources.fakes import TOKEN, FakeSleep, Recorder
from volt_agent.config import HttpSettings, TogglSettings
from volt_agent.domain.models import TimeEntry
from volt_agent.errors import ConfigError, ResponseFormatError, UserInputError
from volt_agent.sources.pagination import PageCursor, split_range
from volt_agent.sources.toggl import TogglClient

WID = 42
USERS = [
    {"id": 1, "email": "Ann@Example.com", "fullname": "Ann", "timezone": "Europe/Berlin"},
    {"id": 2, "email": "bob@example.com", "fullname": "Bob", "timezone": "UTC"},
    {"id": 3, "fullname": "No Mail"},
]


def row(entry_id: int, day: date, *, user_id: int = 1, **overrides: Any) -> dict[str, Any]:
    entry = {
        "id": entry_id,
        "seconds": 1800,
        "start": f"{day.isoformat()}T09:00:00+02:00",
        "stop": f"{day.isoformat()}T09:30:00+02:00",
        "at": f"{day.isoformat()}T10:00:00+00:00",
    }
    entry |= overrides.pop("entry", {})
    return {
        "user_id": user_id,
        "username": "Ann",
        "project_id": 7,
        "task_id": None,
        "description": f"Task #{entry_id} [Scrum] [Task] [Core]",
        "billable": True,
        "tag_ids": [5],
        "time_entries": [entry],
        **overrides,
    }


class FakeToggl:
    """Serves the detailed report by row number, like Toggl: ``page_size`` rows per page."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.loop_headers: dict[str, str] | None = None
        self.extra_headers: dict[str, str] = {}
        self.needs_first_id = False
        """Resume only by ``first_id``: ``first_row_number`` alone gets the first page."""
        self.empty_follow_ups = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/v9/me":
            return httpx.Response(200, json={**USERS[0], "default_workspace_id": WID})
        if path == f"/api/v9/workspaces/{WID}/users":
            return httpx.Response(200, json=USERS)
        if path == f"/api/v9/workspaces/{WID}/projects":
            return httpx.Response(200, json=[{"id": 7, "name": "Core", "workspace_id": WID}])
        if path == f"/reports/api/v3/workspace/{WID}/search/time_entries":
            return self.report(json.loads(request.content))
        return httpx.Response(404, json={"message": f"no route {path}"})

    def report(self, body: dict[str, Any]) -> httpx.Response:
        start, end = date.fromisoformat(body["start_date"]), date.fromisoformat(body["end_date"])
        if (end - start).days + 1 > 366:
            return httpx.Response(400, text="range too long")
        rows = [
            r
            for r in self.rows
            if start.isoformat() <= _day(r) <= end.isoformat()
            and (not body.get("user_ids") or r["user_id"] in body["user_ids"])
        ]
        first = body.get("first_row_number", 1) - 1
        if self.needs_first_id:
            ids = [r["time_entries"][0].get("id") for r in rows]
            first = ids.index(body["first_id"]) if "first_id" in body else 0
        size = body["page_size"]
        if self.empty_follow_ups and first > 0:
            return httpx.Response(200, json=[])
        page = rows[first : first + size]
        headers = {}
        if first + size < len(rows):
            headers = {"X-Next-Row-Number": str(first + size + 1), "X-Next-Timestamp": "1757332800"}
            following = rows[first + size]["time_entries"]
            if following and isinstance(following[0].get("id"), int):
                headers["X-Next-ID"] = str(following[0]["id"])
        if self.loop_headers is not None:
            headers = self.loop_headers
        return httpx.Response(200, json=page, headers=headers | self.extra_headers)


def _day(report_row: dict[str, Any]) -> str:
    """The row's start date, or the fixed day of the bad-data tests when unreadable."""
    try:
        return date.fromisoformat(str(report_row["time_entries"][0]["start"])[:10]).isoformat()
    except (IndexError, KeyError, TypeError, ValueError):
        return DAY.isoformat()


DAY = date(2025, 9, 1)
ROWS = [row(100 + i, DAY + timedelta(days=i)) for i in range(5)]


def make_client(
    recorder: Recorder, fake_sleep: FakeSleep, **settings: Any
) -> tuple[httpx.AsyncClient, TogglClient]:
    http_client = recorder.client()
    toggl = TogglSettings(
        **{"workspace_id": WID, "page_size": 2, "requests_per_second": 1000, **settings}
    )
    client = TogglClient(
        http_client, toggl, HttpSettings(max_retries=2), SecretStr(TOKEN), sleep=fake_sleep
    )
    return http_client, client


@pytest.fixture
def fake() -> FakeToggl:
    return FakeToggl(list(ROWS))


@pytest.fixture
def recorder(fake: FakeToggl) -> Recorder:
    return Recorder(fake)


@pytest.fixture
async def client(recorder: Recorder, fake_sleep: FakeSleep) -> AsyncIterator[TogglClient]:
    http_client, toggl = make_client(recorder, fake_sleep)
    async with http_client:
        yield toggl


def report_bodies(recorder: Recorder) -> list[dict[str, Any]]:
    return [
        json.loads(r.content) for r in recorder.requests if r.url.path.endswith("/time_entries")
    ]


async def test_me_users_and_projects_are_cached(client: TogglClient, recorder: Recorder) -> None:
    assert (await client.me()).default_workspace_id == WID
    await client.me()
    assert [u.id for u in await client.workspace_users(WID)] == [1, 2, 3]
    await client.workspace_users(WID)
    assert [p.name for p in await client.projects(WID)] == ["Core"]
    await client.projects(WID)
    assert client.stats.by_endpoint == {"me": 1, "workspace_users": 1, "projects": 1}
    assert client.request_count == 3


async def test_workspace_defaults_to_the_accounts_default(
    recorder: Recorder, fake_sleep: FakeSleep
) -> None:
    http_client, client = make_client(recorder, fake_sleep, workspace_id=None)
    async with http_client:
        assert await client.workspace_id() == WID
        await client.workspace_users()
    assert client.stats.by_endpoint == {"me": 1, "workspace_users": 1}


async def test_missing_workspace_without_default_is_a_config_error(fake_sleep: FakeSleep) -> None:
    recorder = Recorder(lambda _: httpx.Response(200, json={"id": 1, "email": "a@x"}))
    http_client, client = make_client(recorder, fake_sleep, workspace_id=None)
    async with http_client:
        with pytest.raises(ConfigError, match="TOGGL_WORKSPACE_ID"):
            await client.workspace_id()


async def test_emails_map_to_users_case_insensitively(client: TogglClient) -> None:
    users = await client.resolve_user_ids(
        ["BOB@example.com", " ann@example.COM ", "bob@example.com"]
    )
    assert [u.id for u in users] == [2, 1]
    assert await client.resolve_user_ids([]) == []


async def test_unknown_emails_are_listed(client: TogglClient) -> None:
    with pytest.raises(UserInputError) as caught:
        await client.resolve_user_ids(["ann@example.com", "zed@x.io", "Kim@y.io"])
    assert str(caught.value) == "unknown Toggl user email(s): zed@x.io, kim@y.io — check --users"


async def test_full_pagination_walks_every_page(client: TogglClient, recorder: Recorder) -> None:
    entries, stats = await client.fetch_time_entries(DAY, DAY + timedelta(days=6))
    assert [e.id for e in entries] == [100, 101, 102, 103, 104]
    assert stats.entries_kept == stats.rows_received == 5
    bodies = report_bodies(recorder)
    assert len(bodies) == 3
    assert bodies[0] == {
        "start_date": "2025-09-01",
        "end_date": "2025-09-07",
        "page_size": 2,
        "grouped": False,
        "order_by": "date",
        "order_dir": "ASC",
    }
    assert bodies[1] == bodies[0] | {"first_row_number": 3}  # the row number alone
    assert bodies[2] == bodies[0] | {"first_row_number": 5}
    first = entries[0]
    assert first == TimeEntry.model_validate(
        {
            "id": 100,
            "user_id": 1,
            "user_name": "Ann",
            "description": "Task #100 [Scrum] [Task] [Core]",
            "project_id": 7,
            "billable": True,
            "tag_ids": [5],
            "start": "2025-09-01T09:00:00+02:00",
            "stop": "2025-09-01T09:30:00+02:00",
            "seconds": 1800,
        }
    )


async def test_resuming_from_a_cursor_gives_the_rest_with_fewer_requests(
    client: TogglClient, recorder: Recorder
) -> None:
    end = DAY + timedelta(days=6)
    pages = [page async for page in client.iter_time_entry_pages(DAY, end)]
    assert [page.next_cursor is None for page in pages] == [False, False, True]
    saved = pages[0].next_cursor
    assert saved is not None
    restored = PageCursor.model_validate(json.loads(json.dumps(saved.model_dump(mode="json"))))
    assert restored == saved
    before = client.request_count
    resumed = [page async for page in client.iter_time_entry_pages(DAY, end, cursor=restored)]
    assert [e.id for p in resumed for e in p.entries] == [
        e.id for p in pages[1:] for e in p.entries
    ]
    assert client.request_count - before == 2


async def test_user_ids_are_sent_as_a_filter(client: TogglClient, recorder: Recorder) -> None:
    await client.fetch_time_entries(DAY, DAY, user_ids=[2])
    assert report_bodies(recorder)[0]["user_ids"] == [2]


async def test_end_before_start_is_rejected_before_any_request(
    client: TogglClient, recorder: Recorder
) -> None:
    with pytest.raises(UserInputError, match="before start date"):
        client.iter_time_entry_pages(DAY, DAY - timedelta(days=1))
    with pytest.raises(UserInputError):
        await client.fetch_time_entries(DAY, DAY - timedelta(days=1))
    assert recorder.requests == []


async def test_a_year_is_one_request_window(client: TogglClient, recorder: Recorder) -> None:
    await client.fetch_time_entries(date(2024, 1, 1), date(2024, 12, 31))
    windows = {(b["start_date"], b["end_date"]) for b in report_bodies(recorder)}
    assert windows == {("2024-01-01", "2024-12-31")}


async def test_ranges_over_max_range_days_are_split_into_consecutive_windows(
    recorder: Recorder, fake_sleep: FakeSleep
) -> None:
    http_client, client = make_client(recorder, fake_sleep, max_range_days=3, page_size=10)
    async with http_client:
        entries, _ = await client.fetch_time_entries(DAY, DAY + timedelta(days=6))
    assert [e.id for e in entries] == [100, 101, 102, 103, 104]
    windows = [(b["start_date"], b["end_date"]) for b in report_bodies(recorder)]
    assert windows == [
        ("2025-09-01", "2025-09-03"),
        ("2025-09-04", "2025-09-06"),
        ("2025-09-07", "2025-09-07"),
    ]


def test_split_range_only_where_needed() -> None:
    assert split_range(DAY, DAY, 366) == [(DAY, DAY)]
    assert split_range(date(2024, 1, 1), date(2025, 1, 1), 366) == [
        (date(2024, 1, 1), date(2024, 12, 31)),
        (date(2025, 1, 1), date(2025, 1, 1)),
    ]
    assert len(split_range(date(2020, 1, 1), date(2024, 12, 31), 366)) == 5


async def test_a_repeated_cursor_is_a_pagination_loop(client: TogglClient, fake: FakeToggl) -> None:
    fake.loop_headers = {"X-Next-ID": "102", "X-Next-Row-Number": "3", "X-Next-Timestamp": "9"}
    with pytest.raises(ResponseFormatError, match="pagination loop"):
        await client.fetch_time_entries(DAY, DAY + timedelta(days=6))


async def test_non_integer_cursor_header_is_a_format_error(
    client: TogglClient, fake: FakeToggl
) -> None:
    fake.loop_headers = {"X-Next-Row-Number": "three"}
    with pytest.raises(ResponseFormatError, match="X-Next-Row-Number"):
        await client.fetch_time_entries(DAY, DAY)


async def test_the_invented_x_is_final_header_is_ignored(
    client: TogglClient, fake: FakeToggl, recorder: Recorder
) -> None:
    fake.extra_headers = {"X-Is-Final": "true"}
    entries, _ = await client.fetch_time_entries(DAY, DAY + timedelta(days=6))
    assert [e.id for e in entries] == [100, 101, 102, 103, 104]
    assert len(report_bodies(recorder)) == 3


async def test_a_server_that_resumes_only_by_first_id_gets_it_from_then_on(
    client: TogglClient, fake: FakeToggl, recorder: Recorder
) -> None:
    fake.needs_first_id = True
    entries, _ = await client.fetch_time_entries(DAY, DAY + timedelta(days=6))
    assert [e.id for e in entries] == [100, 101, 102, 103, 104]
    cursors = [
        {k: v for k, v in body.items() if k.startswith("first_")}
        for body in report_bodies(recorder)
    ]
    assert cursors == [
        {},
        {"first_row_number": 3},  # answered with the first page again
        {"first_id": 102, "first_row_number": 3, "first_timestamp": 1757332800},
        {"first_id": 104, "first_row_number": 5, "first_timestamp": 1757332800},
    ]


async def test_an_empty_page_after_a_promise_is_an_error_not_the_end(
    client: TogglClient, fake: FakeToggl, recorder: Recorder
) -> None:
    fake.empty_follow_ups = True
    with pytest.raises(ResponseFormatError) as caught:
        await client.fetch_time_entries(DAY, DAY + timedelta(days=6))
    assert "promised more rows" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert len(report_bodies(recorder)) == 3  # first page, row number alone, with first_id


async def test_a_cursor_outside_the_range_is_rejected(client: TogglClient) -> None:
    with pytest.raises(UserInputError, match="cannot resume"):
        client.iter_time_entry_pages(DAY, DAY, cursor=PageCursor(window_index=1))


async def test_bad_rows_are_counted_not_fatal(client: TogglClient, fake: FakeToggl) -> None:
    """Two rows per page, so the duplicate of entry 1 arrives pages later."""
    fake.rows = [
        row(1, DAY),
        row(2, DAY, description=None),
        row(3, DAY, entry={"stop": None, "seconds": -1757332800}),
        row(4, DAY, entry={"seconds": -30}),
        row(5, DAY, entry={"id": None}),
        row(6, DAY, entry={"start": "yesterday"}),
        row(7, DAY, user_id="x"),  # type: ignore[arg-type]
        row(1, DAY),
        {**row(8, DAY), "time_entries": []},
    ]
    entries, stats = await client.fetch_time_entries(DAY, DAY)
    assert [e.id for e in entries] == [1, 2]
    assert entries[1].description == ""
    assert stats.model_dump() == {
        "rows_received": 9,
        "entries_kept": 2,
        "duplicates_dropped": 1,
        "running_entries_dropped": 1,
        "negative_durations_dropped": 1,
        "malformed_rows_dropped": 4,
        "null_descriptions": 1,
        "outside_range_dropped": 0,
    }


async def test_rows_that_are_not_objects_are_counted(
    client: TogglClient, recorder: Recorder
) -> None:
    recorder.script = [httpx.Response(200, json=["junk", 3, row(1, DAY)])]
    entries, stats = await client.fetch_time_entries(DAY, DAY)
    assert [e.id for e in entries] == [1]
    assert stats.malformed_rows_dropped == 2


async def test_a_report_that_is_not_a_list_is_a_format_error(
    client: TogglClient, recorder: Recorder
) -> None:
    recorder.script = [httpx.Response(200, json={"rows": []})]
    with pytest.raises(ResponseFormatError):
        await client.fetch_time_entries(DAY, DAY)


async def test_create_builds_a_working_client_from_settings(fake: FakeToggl) -> None:
    settings = TogglSettings(base_url="http://127.0.0.1:9999/", workspace_id=WID)
    recorder = Recorder(fake)
    async with TogglClient.create(
        settings, HttpSettings(), SecretStr(TOKEN), httpx.MockTransport(recorder)
    ) as client:
        await client.me()
    assert str(recorder.requests[0].url) == "http://127.0.0.1:9999/api/v9/me"


async def test_concurrent_lookups_share_one_request(client: TogglClient) -> None:
    first, second = await asyncio.gather(client.workspace_users(WID), client.workspace_users(WID))
    assert first == second
    assert client.stats.by_endpoint == {"workspace_users": 1}
