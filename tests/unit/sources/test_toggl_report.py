"""``TogglClient``'s report fetch and totals against the Toggl simulator in-process, under
every cursor mode and page-size mode the simulator can play."""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import SecretStr

from tests.unit.sources.fakes import FakeSleep
from volt_agent.config import HttpSettings, TogglSettings
from volt_agent.errors import BadRequestError, ResponseFormatError
from volt_agent.sandbox import (
    TogglSimulatorOptions,
    Workspace,
    WorkspaceSpec,
    create_toggl_app,
    generate_workspace,
)
from volt_agent.sources.pagination import PageCursor
from volt_agent.sources.toggl import TogglClient, TogglTotals

SPEC = WorkspaceSpec(users=6, days=5, seed=11)
START, END = SPEC.start_date, SPEC.start_date + timedelta(days=SPEC.days - 1)
BASE = "http://toggl.test"
MODES = ["row_number", "id_and_row_number", "id_row_number_bug"]


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    return generate_workspace(SPEC)


def expected_ids(workspace: Workspace, first: date = START, last: date = END) -> set[int]:
    """The entries on ``[first, last]`` in their creators' time zones."""
    zones = {u.id: ZoneInfo(u.timezone) for u in workspace.toggl_users}
    return {
        e.id
        for e in workspace.time_entries
        if first <= e.start.astimezone(zones[e.user_id]).date() <= last
    }


class Traced(httpx.AsyncBaseTransport):
    """The simulator app as a transport that keeps every report request body."""

    def __init__(self, workspace: Workspace, **options: Any) -> None:
        self.options = TogglSimulatorOptions(hourly_quota=None, **options)
        self.app = create_toggl_app(workspace, self.options)
        self.bodies: list[dict[str, Any]] = []
        self._asgi = httpx.ASGITransport(app=self.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/time_entries"):
            self.bodies.append(json.loads(request.content))
        return await self._asgi.handle_async_request(request)


@asynccontextmanager
async def client_of(
    traced: Traced, workspace: Workspace, **settings: Any
) -> AsyncIterator[TogglClient]:
    toggl = TogglSettings(
        **{
            "base_url": BASE,
            "workspace_id": workspace.workspace_id,
            "page_size": 1000,
            "requests_per_second": 1000,
            **settings,
        }
    )
    async with httpx.AsyncClient(transport=traced) as http_client:
        yield TogglClient(
            http_client,
            toggl,
            HttpSettings(max_retries=0),
            SecretStr(traced.options.token),
            sleep=FakeSleep(),
        )


def steps_to(cap: int) -> int:
    """Refused page sizes before one the server takes, starting at 1000."""
    return sum(1 for size in (1000, 200, 50) if size > cap)


@pytest.mark.parametrize("cap", [50, 200])
@pytest.mark.parametrize("page_mode", ["clamp", "reject"])
@pytest.mark.parametrize("cursor_mode", MODES)
async def test_every_row_under_every_cursor_and_page_size_mode(
    workspace: Workspace, cursor_mode: str, page_mode: str, cap: int
) -> None:
    traced = Traced(workspace, cursor_mode=cursor_mode, page_size_mode=page_mode, max_page_size=cap)
    async with client_of(traced, workspace) as client:
        pages = [page async for page in client.iter_time_entry_pages(START, END)]
        granted = client.page_size
    ids = [e.id for page in pages for e in page.entries]
    wanted = expected_ids(workspace)
    assert len(ids) == len(set(ids))
    assert set(ids) == wanted
    assert granted == cap
    assert {page.page_size for page in pages} == {cap}
    page_count = math.ceil(len(wanted) / cap)
    assert len(pages) == page_count
    restarts = 1 if cursor_mode == "id_and_row_number" and page_count > 1 else 0
    refusals = steps_to(cap) if page_mode == "reject" else 0
    assert len(traced.bodies) == page_count + restarts + refusals
    assert all(b["order_dir"] == "ASC" and b["order_by"] == "date" for b in traced.bodies)
    assert all(b["grouped"] is False for b in traced.bodies)
    follow_ups = [b for b in traced.bodies if "first_row_number" in b]
    with_id = [b for b in follow_ups if "first_id" in b]
    if cursor_mode == "id_and_row_number":
        assert len(with_id) == len(follow_ups) - 1  # only the first follow-up went without
    else:
        assert with_id == []  # first_row_number alone worked: first_id never sent


@pytest.mark.parametrize("cursor_mode", MODES)
async def test_grouped_rows_get_every_entry_in_every_cursor_mode(
    workspace: Workspace, cursor_mode: str
) -> None:
    traced = Traced(workspace, cursor_mode=cursor_mode)
    async with client_of(traced, workspace, page_size=20, grouped=True) as client:
        entries, stats = await client.fetch_time_entries(START, END)
    assert sorted(e.id for e in entries) == sorted(expected_ids(workspace))
    assert stats.entries_kept == len(entries)
    assert all(b["grouped"] is True for b in traced.bodies)


async def test_entries_keep_the_offset_toggl_rendered(workspace: Workspace) -> None:
    traced = Traced(workspace)
    async with client_of(traced, workspace) as client:
        entries, _ = await client.fetch_time_entries(START, START)
    assert workspace.me.timezone == "Europe/Berlin"
    assert entries
    assert {e.start.utcoffset() for e in entries} == {timedelta(hours=1)}
    records = {e.id: e for e in workspace.time_entries}
    assert all(e.start == records[e.id].start for e in entries)


async def test_a_resumed_fetch_keeps_the_cursor_form_and_page_size(workspace: Workspace) -> None:
    traced = Traced(
        workspace, cursor_mode="id_and_row_number", page_size_mode="reject", max_page_size=50
    )
    first_part: list[int] = []
    async with client_of(traced, workspace) as client:
        stream = client.iter_time_entry_pages(START, END)
        async for page in stream:
            first_part += [e.id for e in page.entries]
            cursor = page.next_cursor
            if len(first_part) >= 100:
                break
        await stream.aclose()  # type: ignore[attr-defined]
    assert cursor is not None
    assert (cursor.with_id, cursor.page_size) == (True, 50)
    stored = json.loads(json.dumps(cursor.model_dump(mode="json")))
    before = len(traced.bodies)
    async with client_of(traced, workspace) as client:
        rest = [
            e.id
            async for page in client.iter_time_entry_pages(
                START, END, cursor=PageCursor.model_validate(stored)
            )
            for e in page.entries
        ]
    resumed = traced.bodies[before:]
    assert all("first_id" in b and b["page_size"] == 50 for b in resumed)  # no step, no restart
    assert len(resumed) == math.ceil(len(rest) / 50)
    assert sorted(first_part + rest) == sorted(expected_ids(workspace))


async def test_a_400_that_does_not_name_page_size_is_not_retried(workspace: Workspace) -> None:
    traced = Traced(workspace, max_range_days=2)
    async with client_of(traced, workspace) as client:
        with pytest.raises(BadRequestError, match="date range"):
            await client.fetch_time_entries(START, END)
    assert len(traced.bodies) == 1


async def test_a_cap_below_the_smallest_step_is_a_one_line_bad_request(
    workspace: Workspace,
) -> None:
    traced = Traced(workspace, page_size_mode="reject", max_page_size=20)
    async with client_of(traced, workspace) as client:
        with pytest.raises(BadRequestError) as caught:
            await client.fetch_time_entries(START, END)
    assert [b["page_size"] for b in traced.bodies] == [1000, 200, 50]
    assert "page_size" in str(caught.value)
    assert "\n" not in str(caught.value)


async def test_clamped_pages_are_asked_with_the_granted_size(workspace: Workspace) -> None:
    traced = Traced(workspace, max_page_size=50)
    async with client_of(traced, workspace, page_size=200) as client:
        await client.fetch_time_entries(START, END)
    assert [b["page_size"] for b in traced.bodies][:2] == [200, 50]
    assert {b["page_size"] for b in traced.bodies[1:]} == {50}


async def test_totals_equal_the_fetched_seconds(workspace: Workspace) -> None:
    traced = Traced(workspace)
    chosen = [workspace.toggl_users[1].id, workspace.toggl_users[3].id]
    async with client_of(traced, workspace, page_size=200) as client:
        entries, _ = await client.fetch_time_entries(START, END)
        totals = await client.totals(START, END)
        some, _ = await client.fetch_time_entries(START, END, chosen)
        some_totals = await client.totals(START, END, chosen)
    assert totals.seconds == sum(e.seconds for e in entries)
    assert totals.tracked_days == SPEC.days
    assert some_totals.seconds == sum(e.seconds for e in some)
    assert 0 < some_totals.seconds < totals.seconds
    assert traced.app.state.stats.snapshot()["toggl.search_totals"] == 2


async def test_totals_agree_with_a_fetch_that_set_bad_rows_aside(workspace: Workspace) -> None:
    traced = Traced(workspace, bad_rows=True)
    async with client_of(traced, workspace, page_size=200) as client:
        entries, stats = await client.fetch_time_entries(START, END)
        totals = await client.totals(START, END)
    assert stats.malformed_rows_dropped
    assert stats.duplicates_dropped
    assert totals.seconds == sum(e.seconds for e in entries)


async def test_totals_are_summed_over_the_range_windows(workspace: Workspace) -> None:
    traced = Traced(workspace)
    async with client_of(traced, workspace, max_range_days=2) as client:
        split = await client.totals(START, END)
        counted = client.stats.by_endpoint["time_entry_totals"]
    async with client_of(traced, workspace) as client:
        whole = await client.totals(START, END)
    assert counted == 3  # 5 days in windows of 2
    assert split == whole == TogglTotals(seconds=whole.seconds, tracked_days=SPEC.days)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {"seconds": 120, "tracked_days": 1, "rates": []},
            TogglTotals(seconds=120, tracked_days=1),
        ),
        ({"seconds": 120}, TogglTotals(seconds=120, tracked_days=None)),
    ],
)
async def test_totals_read_what_the_answer_has(
    answer: dict[str, Any], expected: TogglTotals
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(200, json=answer))
    ) as http_client:
        client = TogglClient(
            http_client,
            TogglSettings(base_url=BASE, workspace_id=1, requests_per_second=1000),
            HttpSettings(max_retries=0),
            SecretStr("token"),
        )
        assert await client.totals(START, START) == expected


@pytest.mark.parametrize("answer", [[], {"seconds": "12"}, {"total": 1}])
async def test_totals_without_integer_seconds_are_a_format_error(answer: Any) -> None:
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(200, json=answer))
    ) as http_client:
        client = TogglClient(
            http_client,
            TogglSettings(base_url=BASE, workspace_id=1, requests_per_second=1000),
            HttpSettings(max_retries=0),
            SecretStr("token"),
        )
        with pytest.raises(ResponseFormatError, match="seconds"):
            await client.totals(START, START)
