import base64
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from volt_agent.sandbox import TogglSimulatorOptions, Workspace, create_toggl_app

from ._helpers import TOGGL_TOKEN, FakeClock, toggl_client

START, END = "2026-11-16", "2026-11-22"


def search_path(workspace: Workspace) -> str:
    return f"/reports/api/v3/workspace/{workspace.workspace_id}/search/time_entries"


def entries_between(workspace: Workspace, first: date, last: date) -> list[int]:
    return [e.id for e in workspace.time_entries if first <= e.start.date() <= last]


async def walk(
    client: httpx.AsyncClient, workspace: Workspace, body: dict[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    """Follow the cursor headers to the end; return all rows and the number of requests."""
    rows: list[dict[str, Any]] = []
    cursor: dict[str, int] = {}
    requests = 0
    while True:
        response = await client.post(search_path(workspace), json={**body, **cursor})
        requests += 1
        assert response.status_code == 200, response.text
        rows.extend(response.json())
        if response.headers["X-Is-Final"] == "true":
            assert "X-Next-ID" not in response.headers
            return rows, requests
        cursor = {
            "first_id": int(response.headers["X-Next-ID"]),
            "first_row_number": int(response.headers["X-Next-Row-Number"]),
            "first_timestamp": int(response.headers["X-Next-Timestamp"]),
        }


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
        "order_dir": "asc",
    }
    async with toggl_client(create_toggl_app(workspace)) as client:
        rows, requests = await walk(client, workspace, body)

    ids = [entry["id"] for row in rows for entry in row["time_entries"]]
    expected = entries_between(workspace, first, last)
    assert Counter(ids) == Counter(expected)
    assert all(len(row["time_entries"]) == 1 for row in rows)
    assert [row["row_number"] for row in rows] == list(range(1, len(rows) + 1))
    assert requests == max(1, -(-len(expected) // page_size))
    starts = [(row["time_entries"][0]["start"], row["time_entries"][0]["id"]) for row in rows]
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
        "time_entries",
        "row_number",
    }
    (entry,) = row["time_entries"]
    assert set(entry) == {"id", "seconds", "start", "stop", "at"}
    start = datetime.fromisoformat(entry["start"])
    assert start.utcoffset() == timedelta(0)
    assert start.date() == date(2026, 11, 16)


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
        body = {"start_date": START, "end_date": END, "page_size": 25, "order_dir": "desc"}
        rows, _ = await walk(client, workspace, body)
    ids = [row["time_entries"][0]["id"] for row in rows]
    assert Counter(ids) == Counter(
        entries_between(workspace, date(2026, 11, 16), date(2026, 11, 22))
    )
    starts = [row["time_entries"][0]["start"] for row in rows]
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
    assert response.headers["X-Is-Final"] == "true"


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
        ({"start_date": START, "end_date": END, "page_size": 201}, "page_size"),
        ({"start_date": START, "end_date": END, "page_size": 0}, "page_size"),
        ({"start_date": START, "end_date": END, "user_ids": "1,2"}, "user_ids"),
        ({"start_date": START, "end_date": END, "order_dir": "up"}, "order_dir"),
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
    assert set(users[0]) == {"id", "email", "fullname", "timezone"}
    assert {p["workspace_id"] for p in projects} == {workspace.workspace_id}
    assert any(not p["active"] for p in projects)


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
    assert "X-Toggl-Quota-Remaining" not in me.headers
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
    async with toggl_client(create_toggl_app(workspace)) as client:
        body = {"start_date": START, "end_date": END, "page_size": 10}
        first = await client.post(search_path(workspace), json=body)
        next_id = int(first.headers["X-Next-ID"])
        second = await client.post(search_path(workspace), json={**body, "first_id": next_id})
        unknown = await client.post(search_path(workspace), json={**body, "first_id": 1})
    assert second.json()[0]["time_entries"][0]["id"] == next_id
    assert unknown.status_code == 400
    assert "first_id" in unknown.text
