import base64
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from volt_agent.sandbox import TimeEntryRecord, TogglSimulatorOptions, Workspace, create_toggl_app
from volt_agent.sandbox._toggl_account import is_inactive_user
from volt_agent.sandbox.toggl_sim import (
    FEATURE_GATE_MESSAGE,
    ME_WORKSPACES,
    PREMIUM_HOURLY_QUOTA,
    SEARCH,
    USER_HOURLY_QUOTA,
    WORKSPACE_USERS,
)

from ._helpers import TOGGL_TOKEN, FakeClock, toggl_client

START, END = "2026-11-16", "2026-11-22"


def search_path(workspace: Workspace) -> str:
    return f"/reports/api/v3/workspace/{workspace.workspace_id}/search/time_entries"


NEXT_HEADERS = ("X-Next-ID", "X-Next-Row-Number", "X-Next-Timestamp")


def creator_day(workspace: Workspace, entry: TimeEntryRecord) -> date:
    """The entry's start date in its creator's time zone (how the report filters dates)."""
    zone = ZoneInfo(next(u.timezone for u in workspace.toggl_users if u.id == entry.user_id))
    return entry.start.astimezone(zone).date()


def entries_between(workspace: Workspace, first: date, last: date) -> list[int]:
    return [e.id for e in workspace.time_entries if first <= creator_day(workspace, e) <= last]


async def walk(
    client: httpx.AsyncClient, workspace: Workspace, body: dict[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    """Follow the cursor headers to the end (``first_row_number``, as the default
    ``cursor_mode`` resumes); return all rows and the number of requests."""
    rows: list[dict[str, Any]] = []
    cursor: dict[str, int] = {}
    requests = 0
    while True:
        response = await client.post(search_path(workspace), json={**body, **cursor})
        requests += 1
        assert response.status_code == 200, response.text
        assert response.headers["X-Range-Start"] == body["start_date"]
        assert response.headers["X-Range-End"] == body["end_date"]
        assert int(response.headers["X-Page-Size"]) == body.get("page_size", 50)
        rows.extend(response.json())
        if "X-Next-Row-Number" not in response.headers:
            assert not any(name in response.headers for name in NEXT_HEADERS)
            assert "X-Is-Final" not in response.headers
            return rows, requests
        cursor = {"first_row_number": int(response.headers["X-Next-Row-Number"])}


def start_of(row: dict[str, Any]) -> tuple[datetime, int]:
    entry = row["time_entries"][0]
    return datetime.fromisoformat(entry["start"]), entry["id"]


@pytest.mark.parametrize("page_size", [1, 7, 50, 200])
async def test_pagination_walks_every_entry_exactly_once(
    workspace: Workspace, page_size: int
) -> None:
    first, last = date(2026, 11, 17), date(2026, 11, 19)
    if page_size == 1:
        first = last = date(2026, 11, 18)
    body = {
        "start_date": first.isoformat(),
        "end_date": last.isoformat(),
        "page_size": page_size,
        "grouped": False,
        "order_by": "date",
        "order_dir": "ASC",
    }
    async with toggl_client(create_toggl_app(workspace)) as client:
        rows, requests = await walk(client, workspace, body)

    ids = [entry["id"] for row in rows for entry in row["time_entries"]]
    expected = entries_between(workspace, first, last)
    assert Counter(ids) == Counter(expected)
    assert all(len(row["time_entries"]) == 1 for row in rows)
    assert [row["row_number"] for row in rows] == list(range(1, len(rows) + 1))
    assert requests == max(1, -(-len(expected) // page_size))
    starts = [start_of(row) for row in rows]
    assert starts == sorted(starts)


async def test_rows_have_the_documented_shape(workspace: Workspace) -> None:
    async with toggl_client(create_toggl_app(workspace)) as client:
        response = await client.post(
            search_path(workspace), json={"start_date": START, "end_date": START, "page_size": 1}
        )
    (row,) = response.json()
    assert set(row) == {
        "user_id",
        "username",
        "project_id",
        "task_id",
        "description",
        "billable",
        "tag_ids",
        "billable_amount_in_cents",
        "currency",
        "hourly_rate_in_cents",
        "time_entries",
        "row_number",
    }
    (entry,) = row["time_entries"]
    assert set(entry) == {"id", "seconds", "start", "stop", "at", "at_tz"}
    record = next(e for e in workspace.time_entries if e.id == entry["id"])
    start, at = datetime.fromisoformat(entry["start"]), datetime.fromisoformat(entry["at"])
    assert workspace.me.timezone == "Europe/Berlin"
    assert start.utcoffset() == timedelta(hours=1)  # the token user's offset in November
    assert (start, datetime.fromisoformat(entry["stop"])) == (record.start, record.stop)
    assert (at.utcoffset(), at) == (timedelta(0), record.at)
    assert datetime.fromisoformat(entry["at_tz"]).utcoffset() == timedelta(hours=1)
    assert creator_day(workspace, record) == date(2026, 11, 16)


async def test_resuming_by_row_number_alone(workspace: Workspace) -> None:
    async with toggl_client(create_toggl_app(workspace)) as client:
        body = {"start_date": START, "end_date": END, "page_size": 40}
        first = await client.post(search_path(workspace), json=body)
        second = await client.post(
            search_path(workspace),
            json={**body, "first_row_number": int(first.headers["X-Next-Row-Number"])},
        )
    assert second.json()[0]["time_entries"][0]["id"] == int(first.headers["X-Next-ID"])
    assert second.json()[0]["row_number"] == 41


async def test_descending_order_walks_backwards(workspace: Workspace) -> None:
    async with toggl_client(create_toggl_app(workspace)) as client:
        body = {"start_date": START, "end_date": END, "page_size": 25, "order_dir": "DESC"}
        rows, _ = await walk(client, workspace, body)
    ids = [row["time_entries"][0]["id"] for row in rows]
    assert Counter(ids) == Counter(
        entries_between(workspace, date(2026, 11, 16), date(2026, 11, 22))
    )
    starts = [start_of(row) for row in rows]
    assert starts == sorted(starts, reverse=True)


async def test_user_ids_filter(workspace: Workspace) -> None:
    chosen = {workspace.toggl_users[1].id, workspace.toggl_users[4].id}
    async with toggl_client(create_toggl_app(workspace)) as client:
        body = {"start_date": START, "end_date": END, "page_size": 30, "user_ids": sorted(chosen)}
        rows, _ = await walk(client, workspace, body)
    expected = [e.id for e in workspace.time_entries if e.user_id in chosen]
    assert {row["user_id"] for row in rows} <= chosen
    assert sorted(row["time_entries"][0]["id"] for row in rows) == sorted(expected)


async def test_project_ids_filter(workspace: Workspace) -> None:
    project = workspace.toggl_projects[0].id
    async with toggl_client(create_toggl_app(workspace)) as client:
        body = {"start_date": START, "end_date": END, "page_size": 200, "project_ids": [project]}
        rows, _ = await walk(client, workspace, body)
    assert rows
    assert {row["project_id"] for row in rows} == {project}


async def test_grouped_rows_collect_entries_with_the_same_description(workspace: Workspace) -> None:
    async with toggl_client(create_toggl_app(workspace)) as client:
        body = {"start_date": START, "end_date": END, "page_size": 20, "grouped": True}
        rows, _ = await walk(client, workspace, body)
    ids = [entry["id"] for row in rows for entry in row["time_entries"]]
    assert sorted(ids) == sorted(entries_between(workspace, date(2026, 11, 16), date(2026, 11, 22)))
    assert any(len(row["time_entries"]) > 1 for row in rows)


async def test_empty_range_is_a_final_empty_page(workspace: Workspace) -> None:
    async with toggl_client(create_toggl_app(workspace)) as client:
        response = await client.post(
            search_path(workspace), json={"start_date": "2025-01-01", "end_date": "2025-01-02"}
        )
    assert response.json() == []
    assert not any(name in response.headers for name in (*NEXT_HEADERS, "X-Is-Final"))
    assert (response.headers["X-Range-Start"], response.headers["X-Range-End"]) == (
        "2025-01-01",
        "2025-01-02",
    )
    assert response.headers["X-Page-Size"] == "50"  # the documented default


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"start_date": "16.11.2026", "end_date": END}, "YYYY-MM-DD"),
        ({"start_date": "20261116", "end_date": END}, "YYYY-MM-DD"),
        ({"start_date": "2026-02-30", "end_date": END}, "not a valid date"),
        ({"start_date": END, "end_date": START}, "earlier"),
        ({"end_date": END}, "start_date is required"),
        ({"start_date": START}, "end_date is required"),
        ({"start_date": "2025-01-01", "end_date": "2026-01-02"}, "366 days"),
        ({"start_date": START, "end_date": END, "page_size": 0}, "page_size"),
        ({"start_date": START, "end_date": END, "user_ids": "1,2"}, "user_ids"),
        ({"start_date": START, "end_date": END, "order_dir": "up"}, "'ASC', 'DESC'"),
        ({"start_date": START, "end_date": END, "order_dir": "asc"}, "'ASC', 'DESC'"),
        ({"start_date": START, "end_date": END, "order_by": "color"}, "'last_update'"),
        ({"start_date": START, "end_date": END, "grouped": "yes"}, "grouped"),
        ([START, END], "JSON object"),
    ],
)
async def test_invalid_search_bodies_answer_400_text(
    workspace: Workspace, body: Any, reason: str
) -> None:
    async with toggl_client(create_toggl_app(workspace)) as client:
        response = await client.post(search_path(workspace), json=body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert reason in response.text


async def test_a_year_is_the_longest_range_and_limits_are_configurable(
    workspace: Workspace,
) -> None:
    app = create_toggl_app(workspace, TogglSimulatorOptions(max_range_days=7, max_page_size=500))
    async with toggl_client(app) as client:
        week = await client.post(
            search_path(workspace), json={"start_date": START, "end_date": END, "page_size": 500}
        )
        longer = await client.post(
            search_path(workspace), json={"start_date": START, "end_date": "2026-11-23"}
        )
    assert week.status_code == 200
    assert longer.status_code == 400


async def test_not_json_answers_400(workspace: Workspace) -> None:
    async with toggl_client(create_toggl_app(workspace)) as client:
        response = await client.post(search_path(workspace), content=b"{not json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic " + base64.b64encode(b"wrong:api_token").decode(),
        "Basic " + base64.b64encode(f"{TOGGL_TOKEN}:secret".encode()).decode(),
        "Basic !!!",
        f"Bearer {TOGGL_TOKEN}",
    ],
)
async def test_bad_or_missing_auth_answers_403_text(
    workspace: Workspace, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    transport = httpx.ASGITransport(app=create_toggl_app(workspace))
    async with httpx.AsyncClient(transport=transport, base_url="http://toggl.test") as client:
        response = await client.get("/api/v9/me", headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/plain")


async def test_wrong_workspace_answers_403_and_a_non_numeric_one_404(workspace: Workspace) -> None:
    async with toggl_client(create_toggl_app(workspace)) as client:
        wrong = await client.get(f"/api/v9/workspaces/{workspace.workspace_id + 1}/users")
        text = await client.get("/api/v9/workspaces/abc/projects")
        search = await client.post(
            "/reports/api/v3/workspace/1/search/time_entries",
            json={"start_date": START, "end_date": END},
        )
    assert (wrong.status_code, text.status_code, search.status_code) == (403, 404, 403)


async def test_track_api_v9_endpoints(workspace: Workspace) -> None:
    async with toggl_client(create_toggl_app(workspace)) as client:
        me = (await client.get("/api/v9/me")).json()
        users = (await client.get(f"/api/v9/workspaces/{workspace.workspace_id}/users")).json()
        projects = (
            await client.get(f"/api/v9/workspaces/{workspace.workspace_id}/projects")
        ).json()
    assert me == {
        "id": workspace.me.id,
        "email": workspace.me.email,
        "fullname": workspace.me.fullname,
        "default_workspace_id": workspace.workspace_id,
        "timezone": workspace.me.timezone,
    }
    assert [u["email"] for u in users] == [u.email for u in workspace.toggl_users]
    assert set(users[0]) == {"id", "email", "fullname", "inactive", "is_active", "is_admin", "role"}
    assert {p["workspace_id"] for p in projects} == {workspace.workspace_id}
    assert all(p["active"] for p in projects)  # active=true is the documented default


async def test_leaky_bucket_answers_429_with_retry_after(workspace: Workspace) -> None:
    clock = FakeClock()
    options = TogglSimulatorOptions(requests_per_second=1.0, burst=2, clock=clock)
    app = create_toggl_app(workspace, options)
    async with toggl_client(app) as client:
        statuses = [(await client.get("/api/v9/me")).status_code for _ in range(2)]
        limited = await client.get("/api/v9/me")
        clock.advance(float(limited.headers["Retry-After"]))
        after_wait = await client.get("/api/v9/me")
    assert statuses == [200, 200]
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.text
    assert after_wait.status_code == 200
    assert app.state.stats.snapshot()["rate_limited"] == 1


async def test_hourly_quota_answers_402_with_quota_headers(workspace: Workspace) -> None:
    clock = FakeClock()
    app = create_toggl_app(workspace, TogglSimulatorOptions(hourly_quota=3, clock=clock))
    users_path = f"/api/v9/workspaces/{workspace.workspace_id}/users"
    async with toggl_client(app) as client:
        answers = [await client.get(users_path)]
        clock.advance(600)
        answers.append(await client.get(users_path))
        answers.append(
            await client.post(search_path(workspace), json={"start_date": START, "end_date": END})
        )
        over = await client.get(users_path)
        me = await client.get("/api/v9/me")
        clock.advance(2999)
        still_over = await client.get(users_path)
        clock.advance(1)
        reset = await client.get(users_path)
    assert [a.headers["X-Toggl-Quota-Remaining"] for a in answers] == ["2", "1", "0"]
    assert answers[0].headers["X-Toggl-Quota-Resets-In"] == "3600"
    assert over.status_code == 402
    assert over.headers["X-Toggl-Quota-Remaining"] == "0"
    assert over.headers["X-Toggl-Quota-Resets-In"] == "3000"
    assert me.status_code == 200
    assert me.headers["X-Toggl-Quota-Remaining"] == str(USER_HOURLY_QUOTA - 1)  # its own quota
    assert still_over.status_code == 402
    assert still_over.headers["X-Toggl-Quota-Resets-In"] == "1"
    assert reset.status_code == 200
    assert reset.headers["X-Toggl-Quota-Remaining"] == "0"
    assert app.state.stats.snapshot()["quota_exceeded"] == 2


async def test_me_has_its_own_quota(workspace: Workspace) -> None:
    app = create_toggl_app(workspace, TogglSimulatorOptions(me_hourly_quota=1, hourly_quota=5))
    async with toggl_client(app) as client:
        first = await client.get("/api/v9/me")
        second = await client.get("/api/v9/me")
        users = await client.get(f"/api/v9/workspaces/{workspace.workspace_id}/users")
    assert (first.status_code, second.status_code, users.status_code) == (200, 402, 200)
    assert users.headers["X-Toggl-Quota-Remaining"] == "4"


async def test_requests_are_counted_per_endpoint(workspace: Workspace) -> None:
    app = create_toggl_app(workspace)
    async with toggl_client(app) as client:
        await client.get("/api/v9/me")
        await client.get("/api/v9/me")
        await client.get(f"/api/v9/workspaces/{workspace.workspace_id}/projects")
        await client.post(search_path(workspace), json={"start_date": START})
        await client.get("/nowhere")
        stats_over_http = (await client.get("/_sandbox/stats")).json()
    stats = app.state.stats.snapshot()
    assert stats == stats_over_http
    assert stats["toggl.me"] == 2
    assert stats["toggl.projects"] == 1
    assert stats["toggl.search_time_entries"] == 1
    assert stats["toggl.workspace_users"] == 0
    assert stats["toggl.other"] == 1
    assert stats["requests"] == 5
    assert (stats["status.200"], stats["status.400"], stats["status.404"]) == (3, 1, 1)


async def test_resuming_by_first_id_alone_and_unknown_ids(workspace: Workspace) -> None:
    options = TogglSimulatorOptions(cursor_mode="id_and_row_number")
    async with toggl_client(create_toggl_app(workspace, options)) as client:
        body = {"start_date": START, "end_date": END, "page_size": 10}
        first = await client.post(search_path(workspace), json=body)
        next_id = int(first.headers["X-Next-ID"])
        second = await client.post(search_path(workspace), json={**body, "first_id": next_id})
        unknown = await client.post(search_path(workspace), json={**body, "first_id": 1})
    assert second.json()[0]["time_entries"][0]["id"] == next_id
    assert unknown.status_code == 400
    assert "first_id" in unknown.text


# ------------------------------------------------ quota, 402, account endpoints (v9)

QUOTA_HEADERS = ("X-Toggl-Quota-Remaining", "X-Toggl-Quota-Resets-In")


def users_path(workspace: Workspace) -> str:
    return f"/api/v9/workspaces/{workspace.workspace_id}/users"


def projects_path(workspace: Workspace) -> str:
    return f"/api/v9/workspaces/{workspace.workspace_id}/projects"


def quota(response: httpx.Response) -> tuple[int, int]:
    return (
        int(response.headers["X-Toggl-Quota-Remaining"]),
        int(response.headers["X-Toggl-Quota-Resets-In"]),
    )


async def test_strict_default_quota_headers_on_every_answer_after_auth(
    workspace: Workspace,
) -> None:
    clock = FakeClock()
    app = create_toggl_app(workspace, TogglSimulatorOptions(clock=clock))
    async with toggl_client(app) as client:
        me = await client.get("/api/v9/me")
        users = await client.get(users_path(workspace))
        clock.advance(10)
        bad_page = await client.get(projects_path(workspace), params={"per_page": "201"})
        forbidden = await client.get(f"/api/v9/workspaces/{workspace.workspace_id + 1}/users")
    async with toggl_client(app, token="wrong") as stranger:
        refused = await stranger.get(users_path(workspace))
    assert quota(me) == (USER_HOURLY_QUOTA - 1, 3600)
    assert quota(users) == (PREMIUM_HOURLY_QUOTA - 1, 3600)
    assert (bad_page.status_code, quota(bad_page)) == (400, (PREMIUM_HOURLY_QUOTA - 2, 3590))
    assert (forbidden.status_code, quota(forbidden)) == (403, (PREMIUM_HOURLY_QUOTA - 3, 3590))
    assert refused.status_code == 403  # a wrong token names no user: no quota to report
    assert not any(name in refused.headers for name in QUOTA_HEADERS)


async def test_no_quota_means_no_quota_headers(workspace: Workspace) -> None:
    options = TogglSimulatorOptions(hourly_quota=None, me_hourly_quota=None)
    async with toggl_client(create_toggl_app(workspace, options)) as client:
        answers = [await client.get("/api/v9/me"), await client.get(users_path(workspace))]
    assert [a.status_code for a in answers] == [200, 200]
    assert not any(name in a.headers for a in answers for name in QUOTA_HEADERS)


async def test_a_429_carries_the_quota_without_spending_it(workspace: Workspace) -> None:
    clock = FakeClock()
    options = TogglSimulatorOptions(requests_per_second=1.0, hourly_quota=5, clock=clock)
    async with toggl_client(create_toggl_app(workspace, options)) as client:
        first = await client.get(users_path(workspace))
        limited = await client.get(users_path(workspace))
        clock.advance(1)
        second = await client.get(users_path(workspace))
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert quota(first)[0] == quota(limited)[0] == 4
    assert quota(second)[0] == 3


@pytest.mark.parametrize(
    ("window", "after_reset"),
    [("sliding", [(200, 0), (402, 0)]), ("fixed", [(200, 1), (200, 0)])],
)
async def test_quota_window_sliding_or_fixed(
    workspace: Workspace, window: str, after_reset: list[tuple[int, int]]
) -> None:
    """Two requests 30 min apart, both refused in between; at 60 min the sliding window frees
    only the first, the fixed one (anchored on the first request) frees both."""
    clock = FakeClock()
    options = TogglSimulatorOptions(hourly_quota=2, quota_window=window, clock=clock)  # type: ignore[arg-type]
    async with toggl_client(create_toggl_app(workspace, options)) as client:
        first = await client.get(users_path(workspace))
        clock.advance(1800)
        second = await client.get(users_path(workspace))
        clock.advance(100)
        over = await client.get(users_path(workspace))
        clock.advance(1700)
        later = [await client.get(users_path(workspace)) for _ in range(2)]
    assert quota(first) == (1, 3600)
    assert quota(second) == (0, 1800)
    assert (over.status_code, quota(over)) == (402, (0, 1700))
    assert "quota" in over.text.lower()
    assert "1700 seconds" in over.text
    assert [(a.status_code, quota(a)[0]) for a in later] == after_reset


async def test_quota_window_can_be_compressed_in_time(workspace: Workspace) -> None:
    """``quota_window_seconds``: an "hour" of 20 s, so tests can wait for a reset."""
    clock = FakeClock()
    options = TogglSimulatorOptions(hourly_quota=1, quota_window_seconds=20, clock=clock)
    async with toggl_client(create_toggl_app(workspace, options)) as client:
        first = await client.get(users_path(workspace))
        clock.advance(5)
        over = await client.get(users_path(workspace))
        clock.advance(15)
        again = await client.get(users_path(workspace))
    assert quota(first) == (0, 20)
    assert (over.status_code, quota(over)) == (402, (0, 15))
    assert (again.status_code, quota(again)) == (200, (0, 20))


async def test_feature_gated_endpoint_answers_the_feature_402_with_quota_headers(
    workspace: Workspace,
) -> None:
    options = TogglSimulatorOptions(feature_gated_endpoints=frozenset({SEARCH}))
    app = create_toggl_app(workspace, options)
    async with toggl_client(app) as client:
        gated = await client.post(search_path(workspace), json={"start_date": START})
        users = await client.get(users_path(workspace))
    assert gated.status_code == 402
    assert gated.text == FEATURE_GATE_MESSAGE
    assert "quota" not in gated.text.lower()
    assert quota(gated)[0] == PREMIUM_HOURLY_QUOTA - 1  # admitted, so counted
    assert (users.status_code, quota(users)[0]) == (200, PREMIUM_HOURLY_QUOTA - 2)
    stats = app.state.stats.snapshot()
    assert (stats["feature_gated"], stats["quota_exceeded"]) == (1, 0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"feature_gated_endpoints": frozenset({"toggl.nowhere"})},
        {"quota_window": "weekly"},
        {"quota_window_seconds": 0},
        {"token_role": "owner"},
        {"member_users": "some"},
        {"data_retention_days": 0},
        {"extra_projects": -1},
    ],
)
def test_invalid_account_options_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="|".join(kwargs)):
        TogglSimulatorOptions(**kwargs)


async def test_users_list_has_the_documented_shape_and_inactive_users(
    workspace: Workspace,
) -> None:
    async with toggl_client(create_toggl_app(workspace)) as client:
        users = (await client.get(users_path(workspace))).json()
        kept = await client.get(users_path(workspace), params={"exclude_deleted": "true"})
        bad = await client.get(users_path(workspace), params={"exclude_deleted": "maybe"})
    assert all("timezone" not in u for u in users)
    inactive = [u["id"] for u in users if u["inactive"]]
    expected = [u.id for i, u in enumerate(workspace.toggl_users) if is_inactive_user(i)]
    assert inactive == expected
    assert 0 < len(inactive) <= len(users) // 4
    counts = workspace.entry_count_by_user()
    assert all(counts[user_id] > 0 for user_id in inactive)  # past time of inactive users
    assert all(u["is_active"] is not u["inactive"] for u in users)
    assert [(u["is_admin"], u["role"]) for u in users][:2] == [(True, "admin"), (False, "user")]
    assert [u["id"] for u in users if u["is_admin"]] == [workspace.me.id]
    assert kept.json() == users  # the sandbox has no deleted users
    assert bad.status_code == 400


@pytest.mark.parametrize("member_users", ["all", "self"])
async def test_member_token_is_no_admin_in_the_users_list(
    workspace: Workspace, member_users: str
) -> None:
    options = TogglSimulatorOptions(token_role="member", member_users=member_users)  # type: ignore[arg-type]
    async with toggl_client(create_toggl_app(workspace, options)) as client:
        users = (await client.get(users_path(workspace))).json()
    own = [u for u in users if u["id"] == workspace.me.id]
    assert [(u["is_admin"], u["role"]) for u in own] == [(False, "user")]
    assert not any(u["is_admin"] for u in users)
    assert len(users) == (len(workspace.toggl_users) if member_users == "all" else 1)


async def test_member_token_may_be_refused_the_users_list(workspace: Workspace) -> None:
    options = TogglSimulatorOptions(token_role="member", member_users="forbidden")
    async with toggl_client(create_toggl_app(workspace, options)) as client:
        answer = await client.get(users_path(workspace))
    assert answer.status_code == 403
    assert answer.text == "User does not have access to this resource"
    assert "X-Toggl-Quota-Remaining" in answer.headers


async def test_projects_are_paged_and_filtered_by_active(workspace: Workspace) -> None:
    options = TogglSimulatorOptions(extra_projects=450, hourly_quota=None)
    total = len(workspace.toggl_projects) + 450

    async def walk(client: httpx.AsyncClient, per_page: int, active: str) -> list[list[Any]]:
        pages: list[list[Any]] = []
        while True:
            params = {"page": str(len(pages) + 1), "per_page": str(per_page), "active": active}
            page = (await client.get(projects_path(workspace), params=params)).json()
            pages.append(page)
            if len(page) < per_page:
                return pages

    async with toggl_client(create_toggl_app(workspace, options)) as client:
        default = (await client.get(projects_path(workspace))).json()
        both = await walk(client, 200, "both")
        archived = await walk(client, 200, "false")
        active = await walk(client, 151, "true")
        refused = [
            await client.get(projects_path(workspace), params=params)
            for params in ({"per_page": "201"}, {"page": "0"}, {"active": "all"})
        ]
    assert len(default) == 151
    assert all(p["active"] for p in default)
    assert [len(page) for page in both] == [200, 200, total - 400]
    ids = [p["id"] for page in both for p in page]
    assert len(set(ids)) == total
    assert {p["id"] for page in archived for p in page} == {
        p["id"] for page in both for p in page if not p["active"]
    }
    assert all(not p["active"] for page in archived for p in page)
    assert sum(map(len, active)) + sum(map(len, archived)) == total
    assert default == active[0]
    assert [r.status_code for r in refused] == [400, 400, 400]
    assert "200" in refused[0].text


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            TogglSimulatorOptions(),
            {"admin": True, "role": "admin", "premium": True, "max_data_retention_days": None},
        ),
        (
            TogglSimulatorOptions(token_role="member", data_retention_days=90),
            {"admin": False, "role": "user", "premium": False, "max_data_retention_days": 90},
        ),
    ],
    ids=["premium-admin", "free-member"],
)
async def test_me_workspaces_gives_role_plan_and_retention(
    workspace: Workspace, options: TogglSimulatorOptions, expected: dict[str, Any]
) -> None:
    app = create_toggl_app(workspace, options)
    async with toggl_client(app) as client:
        answer = await client.get("/api/v9/me/workspaces")
        me = await client.get("/api/v9/me")
    (row,) = answer.json()
    assert row["id"] == workspace.workspace_id
    assert {key: row[key] for key in expected} == expected
    assert row["business_ws"] is row["premium"]
    assert quota(answer)[0] == USER_HOURLY_QUOTA - 1  # a user-level request
    assert quota(me)[0] == USER_HOURLY_QUOTA - 2
    stats = app.state.stats.snapshot()
    assert (stats[ME_WORKSPACES], stats[WORKSPACE_USERS]) == (1, 0)


def search_ids(rows: list[dict[str, Any]]) -> list[int]:
    return [entry["id"] for row in rows for entry in row["time_entries"]]


async def test_member_token_searches_only_its_own_entries(workspace: Workspace) -> None:
    me, other = workspace.me.id, workspace.toggl_users[2].id
    body = {"start_date": START, "end_date": END, "page_size": 200}
    options = TogglSimulatorOptions(token_role="member")
    async with toggl_client(create_toggl_app(workspace, options)) as client:
        everyone = (await client.post(search_path(workspace), json=body)).json()
        others = await client.post(search_path(workspace), json={**body, "user_ids": [other]})
        mixed = await client.post(search_path(workspace), json={**body, "user_ids": [me, other]})
    own = sorted(e.id for e in workspace.time_entries if e.user_id == me)
    assert own
    assert len(own) < len(workspace.time_entries)
    assert {row["user_id"] for row in everyone} == {me}
    assert others.json() == []
    assert sorted(search_ids(mixed.json())) == sorted(search_ids(everyone))


async def test_retention_hides_entries_older_than_the_limit(workspace: Workspace) -> None:
    today = date(2026, 11, 25)
    options = TogglSimulatorOptions(data_retention_days=5, today=today)
    body = {  # wide enough to hold every entry whatever day zone the search filters by
        "start_date": "2026-11-14",
        "end_date": "2026-11-24",
        "page_size": 200,
        "user_ids": [workspace.me.id],
    }
    async with toggl_client(create_toggl_app(workspace, options)) as client:
        rows = (await client.post(search_path(workspace), json=body)).json()
    oldest = date(2026, 11, 20)
    mine = [e for e in workspace.time_entries if e.user_id == workspace.me.id]
    kept = {e.id for e in mine if e.start.date() >= oldest}
    assert kept
    assert len(kept) < len(mine)
    assert set(search_ids(rows)) == kept
