"""Counting a quota-bound run from the Toggl simulator's log (``benchmarks.quota_count``)."""

from __future__ import annotations

import httpx
import pytest
from benchmarks.quota_count import (
    QuotaEvent,
    QuotaLog,
    QuotaWindow,
    extra_402s,
    quota_binds,
    quota_floor,
    quota_windows,
    windows_needed,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

SEARCH = "/reports/api/v3/workspace/1/search/time_entries"


def event(at: float, status: int = 200, path: str = SEARCH) -> QuotaEvent:
    return QuotaEvent(at, path, status, None)


def test_windows_open_with_the_first_counted_request_after_the_previous_one_closed() -> None:
    events = [event(0.0), event(1.0), event(9.9), event(10.5), event(11.0), event(25.0)]
    assert quota_windows(events, 10.0) == [
        QuotaWindow(0.0, 3, 0),
        QuotaWindow(10.5, 2, 0),
        QuotaWindow(25.0, 1, 0),
    ]


def test_402s_belong_to_the_open_window_even_when_logged_just_past_its_end() -> None:
    events = [
        event(0.0),
        event(1.0),
        event(2.0, 402),
        event(10.01, 402),
        event(10.3),
        event(11, 402),
    ]
    windows = quota_windows(events, 10.0)
    assert windows == [QuotaWindow(0.0, 2, 2), QuotaWindow(10.3, 1, 1)]
    assert extra_402s(windows) == 1


def test_429s_and_user_level_requests_are_not_counted_and_order_is_by_time() -> None:
    events = [
        event(3.0),
        event(0.0),
        event(1.0, 429),
        event(2.0, path="/api/v9/me"),
        event(2.5, path="/api/v9/me/workspaces"),
    ]
    assert quota_windows(events, 10.0) == [QuotaWindow(0.0, 2, 0)]


def test_extra_402s_are_those_beyond_the_first_of_each_window() -> None:
    windows = [QuotaWindow(0, 30, 1), QuotaWindow(60, 30, 0), QuotaWindow(120, 5, 3)]
    assert extra_402s(windows) == 2
    assert extra_402s([]) == 0


@pytest.mark.parametrize(
    ("requests", "quota", "needed"), [(335, 30, 12), (330, 30, 11), (335, 240, 2), (335, 600, 1)]
)
def test_windows_needed_and_the_quota_floor(requests: int, quota: int, needed: int) -> None:
    assert windows_needed(requests, quota) == needed
    assert quota_floor(requests, quota, 60.0) == needed * 60.0


def test_windows_needed_rejects_a_zero_quota() -> None:
    with pytest.raises(ValueError, match="quota"):
        windows_needed(5, 0)


def test_the_quota_binds_only_while_a_window_outlasts_sending_its_quota() -> None:
    assert quota_binds(30, 60.0, 1.0)  # Free at 60x: 30 s of requests per 60 s
    assert not quota_binds(240, 60.0, 1.0)  # Starter at 60x: the rate binds
    assert quota_binds(240, 300.0, 1.0)  # Starter at 12x
    assert not quota_binds(600, 600.0, 1.0)


async def test_the_log_records_status_path_and_remaining_of_every_answer() -> None:
    async def search(request: Request) -> PlainTextResponse:
        refused = request.query_params.get("refuse") == "1"
        headers = {"X-Toggl-Quota-Remaining": "0" if refused else "7"}
        return PlainTextResponse("x", status_code=402 if refused else 200, headers=headers)

    async def me(request: Request) -> PlainTextResponse:
        return PlainTextResponse("me")

    app = Starlette(routes=[Route(SEARCH, search), Route("/api/v9/me", me)])
    ticks = iter([1.0, 2.0, 3.0])
    log = QuotaLog(app, clock=lambda: next(ticks))
    transport = httpx.ASGITransport(app=log)
    async with httpx.AsyncClient(transport=transport, base_url="http://toggl") as client:
        await client.get(SEARCH)
        await client.get(SEARCH, params={"refuse": "1"})
        await client.get("/api/v9/me")
        await client.get("/_sandbox/stats")  # not a request a client makes: not logged
    assert log.events() == [
        QuotaEvent(1.0, SEARCH, 200, 7),
        QuotaEvent(2.0, SEARCH, 402, 0),
        QuotaEvent(3.0, "/api/v9/me", 200, None),
    ]
    assert [e.workspace_level for e in log.events()] == [True, True, False]
    log.clear()
    assert log.events() == []
