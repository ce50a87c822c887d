"""``TogglClient`` against Toggl answers as published (see ``fixtures/toggl/SOURCES.md``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr

from tests.contract._support import NoSleep, Replay, body, load, to_response
from volt_agent.config import HttpSettings, TogglSettings
from volt_agent.errors import (
    AuthError,
    BadRequestError,
    FeatureNotEnabledError,
    QuotaWaitError,
    ResponseFormatError,
)
from volt_agent.sources.pagination import HeaderPaginator, PageCursor
from volt_agent.sources.toggl import TogglClient, flatten_rows

WID = 43644207
"""The workspace of the captured account (``default_workspace_id`` of ``me_evrone.json``)."""
SEARCH = f"/reports/api/v3/workspace/{WID}/search/time_entries"
TOTALS = f"{SEARCH}/totals"
ME = "/api/v9/me"
USERS = f"/api/v9/workspaces/{WID}/users"
PROJECTS = f"/api/v9/workspaces/{WID}/projects"
RB_HEADERS = load("toggl/search_time_entries_headers_toggl_rb.json")["headers"]
FLOW_HEADERS = ("x-next-row-number", "x-next-timestamp", "x-page-size")
"""The published cursor headers a two-page flow can reuse: ``x-next-id`` names an entry of the
captured account, which no published page starts with, so the client (rightly) would refuse
the second page; the paginator test reads it."""


def toggl_client(http: httpx.AsyncClient, sleep: NoSleep, **settings: object) -> TogglClient:
    toggl = TogglSettings.model_validate({"requests_per_second": 1000, **settings})
    return TogglClient(
        http, toggl, HttpSettings(max_retries=2), SecretStr("tok-contract"), sleep=sleep
    )


@pytest.fixture
def replay() -> Replay:
    """Serves ``/me`` and the workspace users as published, whatever else a test needs."""
    return (
        Replay()
        .serve(ME, to_response(load("toggl/me_evrone.json")))
        .serve(USERS, to_response(load("toggl/workspace_users.json")))
    )


@pytest.fixture
def sleep() -> NoSleep:
    return NoSleep()


@pytest.fixture
async def client(replay: Replay, sleep: NoSleep) -> AsyncIterator[TogglClient]:
    async with replay.client() as http:
        yield toggl_client(http, sleep, workspace_id=WID)


# --- detailed report rows -------------------------------------------------------------------


def test_evrone_row_flattens_to_one_entry_with_its_published_offset() -> None:
    [entry], stats = flatten_rows(body("toggl/search_time_entries_evrone.json"), set())

    assert (stats.rows_received, stats.entries_kept) == (1, 1)
    assert entry.id == 3545645770
    assert entry.user_id == 30809356
    assert entry.user_name == "test user"
    assert entry.description == "sample description"
    assert entry.project_id == 202793182
    assert entry.task_id is None
    assert entry.tag_ids == [16501871]
    assert entry.billable is False
    assert entry.seconds == 52
    assert entry.start.utcoffset() == timedelta(hours=3)
    assert entry.start == datetime(2024, 7, 30, 8, 13, 46, tzinfo=UTC)
    assert entry.stop is not None
    assert entry.stop.utcoffset() == timedelta(hours=3)
    assert (entry.stop - entry.start).total_seconds() == entry.seconds


def test_tyme_row_with_email_username_and_no_tags_flattens() -> None:
    [entry], _ = flatten_rows(body("toggl/search_time_entries_tyme.json"), set())

    assert entry.id == 3587874298
    assert entry.user_id == 11238397
    assert entry.user_name == "sandbox_tester2@tyme-app.com"
    assert entry.tag_ids == []
    assert entry.seconds == 3600
    assert entry.start.utcoffset() == timedelta(hours=2)
    assert entry.start == datetime(2024, 9, 2, 5, 0, tzinfo=UTC)


async def test_fetch_reads_a_published_page_without_cursor_headers_as_the_last(
    client: TogglClient, replay: Replay
) -> None:
    replay.serve(SEARCH, to_response(load("toggl/search_time_entries_evrone.json")))

    entries, stats = await client.fetch_time_entries(date(2024, 7, 30), date(2024, 7, 30))

    assert [e.id for e in entries] == [3545645770]
    assert entries[0].start.isoformat() == "2024-07-30T11:13:46+03:00"
    assert stats.entries_kept == 1
    assert len(replay.bodies(SEARCH)) == 1


# --- pagination headers ---------------------------------------------------------------------


def test_paginator_reads_the_published_headers_into_the_next_cursor() -> None:
    paginator = HeaderPaginator(1, None, source="Toggl")

    cursor = paginator.advance(httpx.Headers(RB_HEADERS))

    assert cursor is not None
    assert cursor.window_index == 0
    assert cursor.first_row_number == 51
    assert cursor.first_id in (None, 4572901491)
    assert cursor.first_timestamp in (None, 1709585981)
    assert cursor.body_fields()["first_row_number"] == 51


def test_paginator_ends_on_the_published_headers_without_the_next_ones() -> None:
    last_page = {k: v for k, v in RB_HEADERS.items() if not k.startswith("x-next-")}
    paginator = HeaderPaginator(1, PageCursor(first_row_number=51), source="Toggl")

    assert paginator.advance(httpx.Headers(last_page)) is None


async def test_fetch_follows_the_published_cursor_to_the_last_page(
    client: TogglClient, replay: Replay
) -> None:
    cursor_headers = {k: RB_HEADERS[k] for k in FLOW_HEADERS}
    first = load("toggl/search_time_entries_evrone.json") | {"headers": cursor_headers}
    replay.serve(
        SEARCH, to_response(first), to_response(load("toggl/search_time_entries_tyme.json"))
    )

    entries, stats = await client.fetch_time_entries(date(2024, 7, 30), date(2024, 9, 2))

    assert [e.id for e in entries] == [3545645770, 3587874298]
    assert stats.entries_kept == 2
    first_body, second_body = replay.bodies(SEARCH)
    assert not {"first_id", "first_row_number", "first_timestamp"} & first_body.keys()
    assert second_body["first_row_number"] == 51
    assert "first_id" not in second_body
    assert second_body.get("first_timestamp", 1709585981) == 1709585981
    assert second_body["start_date"] == first_body["start_date"]
    assert second_body["end_date"] == first_body["end_date"]


async def test_a_page_not_starting_at_the_published_next_id_is_never_taken_silently(
    client: TogglClient, replay: Replay
) -> None:
    cursor_headers = {k: v for k, v in RB_HEADERS.items() if k.startswith("x-next-")}
    first = load("toggl/search_time_entries_evrone.json") | {"headers": cursor_headers}
    replay.serve(
        SEARCH, to_response(first), to_response(load("toggl/search_time_entries_tyme.json"))
    )

    with pytest.raises(ResponseFormatError, match="incomplete"):
        await client.fetch_time_entries(date(2024, 7, 30), date(2024, 9, 2))

    assert any(b.get("first_id") == 4572901491 for b in replay.bodies(SEARCH)[1:])


# --- totals ---------------------------------------------------------------------------------


async def test_totals_read_the_swagger_report_data(client: TogglClient, replay: Replay) -> None:
    replay.serve(TOTALS, to_response(load("toggl/totals_report_data.json")))

    totals = await client.totals(date(2024, 7, 30), date(2024, 9, 2), [30809356])

    assert (totals.seconds, totals.tracked_days) == (7200, 2)
    [request] = replay.bodies(TOTALS)
    assert (request["start_date"], request["end_date"]) == ("2024-07-30", "2024-09-02")
    assert request["user_ids"] == [30809356]
    assert not {"page_size", "first_id", "first_row_number", "order_dir"} & request.keys()


async def test_totals_feature_gate_is_not_a_quota(client: TogglClient, replay: Replay) -> None:
    replay.serve(TOTALS, to_response(load("toggl/error_402_feature_not_enabled.json")))

    with pytest.raises(FeatureNotEnabledError):
        await client.totals(date(2024, 7, 30), date(2024, 7, 30))

    assert len(replay.bodies(TOTALS)) == 1


# --- account, users, projects ---------------------------------------------------------------


async def test_me_parses_the_captured_profile(replay: Replay, sleep: NoSleep) -> None:
    async with replay.client() as http:
        toggl = toggl_client(http, sleep)
        me = await toggl.me()
        workspace_id = await toggl.workspace_id()

    assert me.id == 30809356
    assert me.email == "example@mail.com"
    assert me.name == "Test User"
    assert me.timezone == "Europe/London"
    assert me.default_workspace_id == WID
    assert workspace_id == WID
    assert [r.url.path for r in replay.requests] == [ME]


async def test_workspace_users_parse_the_documented_shape_without_time_zone(
    client: TogglClient,
) -> None:
    [user] = await client.workspace_users()

    assert user.id == 30809356
    assert user.email == "example@mail.com"
    assert user.name == "Test User"
    assert user.timezone is None
    assert user.active is True
    assert user.is_admin is True
    assert user.role == "admin"


async def test_token_user_is_admin_per_the_users_list(client: TogglClient, replay: Replay) -> None:
    assert await client.token_is_admin() is True
    assert sorted(r.url.path for r in replay.requests) == [ME, USERS]


async def test_workspace_info_reads_the_captured_workspace(
    client: TogglClient, replay: Replay
) -> None:
    replay.serve("/api/v9/me/workspaces", to_response(load("toggl/me_workspaces_evrone.json")))

    workspace = await client.workspace_info()

    assert workspace is not None
    assert workspace.id == WID
    assert workspace.name == "test workspace"
    assert workspace.organization_id == 8364520
    assert (workspace.admin, workspace.role) == (True, "admin")
    assert (workspace.premium, workspace.business_ws) == (False, False)
    assert workspace.max_data_retention_days is None


async def test_projects_parse_the_captured_project(client: TogglClient, replay: Replay) -> None:
    replay.serve(PROJECTS, to_response(load("toggl/projects_evrone.json")))

    [project] = await client.projects()

    assert project.id == 202793181
    assert project.name == "test project"
    assert project.workspace_id == WID
    assert project.active is True
    [request] = [r for r in replay.requests if r.url.path == PROJECTS]
    assert request.url.params["active"] == "both"
    assert int(request.url.params["per_page"]) <= 200


# --- documented error answers ---------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture", ["toggl/error_403_workspace_not_found.json", "toggl/error_403_user_no_access.json"]
)
async def test_documented_403_texts_are_auth_errors(
    client: TogglClient, replay: Replay, fixture: str
) -> None:
    replay.serve(SEARCH, to_response(load(fixture)))

    with pytest.raises(AuthError) as caught:
        await client.fetch_time_entries(date(2024, 7, 30), date(2024, 7, 30))

    assert caught.value.status_code == 403
    assert "TOGGL_API_TOKEN" in str(caught.value)
    assert len(replay.bodies(SEARCH)) == 1


async def test_documented_400_text_is_a_bad_request_naming_the_reason(
    client: TogglClient, replay: Replay
) -> None:
    replay.serve(SEARCH, to_response(load("toggl/error_400_invalid_workspace_id.json")))

    with pytest.raises(BadRequestError, match="Invalid workspace id"):
        await client.fetch_time_entries(date(2024, 7, 30), date(2024, 7, 30))


@pytest.mark.parametrize("text_as_json", [False, True], ids=["plain-text", "json-string"])
async def test_documented_402_feature_gate_is_not_a_quota(
    client: TogglClient, replay: Replay, sleep: NoSleep, text_as_json: bool
) -> None:
    fixture = load("toggl/error_402_feature_not_enabled.json")
    replay.serve(SEARCH, to_response(fixture, text_as_json=text_as_json))

    with pytest.raises(FeatureNotEnabledError) as caught:
        await client.fetch_time_entries(date(2024, 7, 30), date(2024, 7, 30))

    assert not isinstance(caught.value, QuotaWaitError)
    assert caught.value.status_code == 402
    assert "Workspace needs to have this feature enabled" in str(caught.value)
    assert len(replay.bodies(SEARCH)) == 1
    assert sleep.delays == []


async def test_quota_402_with_the_published_header_names_waits_for_the_reset(
    client: TogglClient, replay: Replay, sleep: NoSleep
) -> None:
    replay.serve(
        SEARCH,
        to_response(load("toggl/quota_402_headers.json")),
        to_response(load("toggl/search_time_entries_evrone.json")),
    )

    entries, _ = await client.fetch_time_entries(date(2024, 7, 30), date(2024, 7, 30))

    assert [e.id for e in entries] == [3545645770]
    assert sleep.delays == [20.0]
    assert client.stats.quota_remaining_min == 0
