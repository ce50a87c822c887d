"""The doctor's Toggl checks against a scripted Toggl (``httpx.MockTransport``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from volt_agent.config import HttpSettings, TogglSettings
from volt_agent.doctor import Check, exit_code
from volt_agent.doctor.apis import TOGGL_REQUEST_BUDGET, check_toggl
from volt_agent.sources.toggl import TogglClient

TOKEN = "toggl-doctor-secret-0123456789"
TODAY = date(2026, 11, 24)
SETTINGS = TogglSettings(base_url="https://toggl.test", requests_per_second=1000)
HTTP = HttpSettings(max_retries=0)
WID = 77


@dataclass
class FakeToggl:
    """Toggl's answers to the doctor's four requests, each adjustable."""

    is_admin: bool | None = True
    workspace_admin: bool | None = True
    premium: bool = True
    retention_days: int | None = None
    remaining: str | None = "500"
    workspace_listed: bool = True
    statuses: dict[str, int] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append(f"{request.method} {path}")
        headers = {"X-Toggl-Quota-Resets-In": "1800"}
        if self.remaining is not None:
            headers["X-Toggl-Quota-Remaining"] = self.remaining
        if path in self.statuses:
            return httpx.Response(
                self.statuses[path], text=self.texts.get(path, ""), headers=headers
            )
        return httpx.Response(200, json=self.body(path), headers=headers)

    def body(self, path: str) -> Any:
        if path == "/api/v9/me":
            return {"id": 1, "email": "a@x.test", "fullname": "A", "default_workspace_id": WID}
        if path == "/api/v9/me/workspaces" and not self.workspace_listed:
            return []
        if path == "/api/v9/me/workspaces":
            return [
                {
                    "id": WID,
                    "name": "W",
                    "admin": self.workspace_admin,
                    "premium": self.premium,
                    "business_ws": self.premium,
                    "max_data_retention_days": self.retention_days,
                }
            ]
        if path == f"/api/v9/workspaces/{WID}/users":
            me = {"id": 1, "email": "a@x.test", "fullname": "A"}
            if self.is_admin is not None:
                me["is_admin"] = self.is_admin
            return [me, {"id": 2, "email": "b@x.test", "fullname": "B", "inactive": True}]
        if path == f"/reports/api/v3/workspace/{WID}/search/time_entries":
            entry = {
                "id": 10,
                "seconds": 3600,
                "start": "2026-11-23T09:00:00+00:00",
                "stop": "2026-11-23T10:00:00+00:00",
                "at": "2026-11-23T10:00:00+00:00",
            }
            return [{"user_id": 1, "username": "A", "description": "x", "time_entries": [entry]}]
        raise AssertionError(f"unexpected request {path}")


async def run_checks(fake: FakeToggl) -> dict[str, Check]:
    transport = httpx.MockTransport(fake)
    async with TogglClient.create(SETTINGS, HTTP, SecretStr(TOKEN), transport) as client:
        checks = await check_toggl(client, SETTINGS, TODAY)
    assert all(TOKEN not in check.line() for check in checks)
    return {check.name: check for check in checks}


async def test_a_healthy_account_is_all_ok_in_four_requests() -> None:
    fake = FakeToggl()
    checks = await run_checks(fake)
    assert [c.status for c in checks.values()] == ["ok"] * 6
    assert list(checks) == [
        "Toggl token",
        "Toggl workspace",
        "Toggl visibility",
        "Toggl plan",
        "Toggl reports",
        "Toggl quota",
    ]
    assert len(fake.requests) == TOGGL_REQUEST_BUDGET
    assert fake.requests[-1].startswith("POST /reports/api/v3/")  # quota = workspace quota
    assert "user id 1" in checks["Toggl token"].message
    assert "workspace 77: 2 users (1 deactivated)" in checks["Toggl workspace"].message
    assert "1 entries on its first page" in checks["Toggl reports"].message
    assert checks["Toggl quota"].message == "500 requests left this hour, resets in 30 min"
    assert exit_code(checks.values()) == 0


async def test_a_member_token_is_a_warning_naming_the_fix() -> None:
    checks = await run_checks(FakeToggl(is_admin=False))
    visibility = checks["Toggl visibility"]
    assert visibility.status == "warning"
    assert "not an admin of workspace 77" in visibility.message
    assert "use a workspace admin's API token" in visibility.message
    assert exit_code(checks.values()) == 0


@pytest.mark.parametrize(("workspace_admin", "status"), [(False, "warning"), (True, "ok")])
async def test_without_is_admin_in_the_users_list_the_workspace_list_decides(
    workspace_admin: bool, status: str
) -> None:
    checks = await run_checks(FakeToggl(is_admin=None, workspace_admin=workspace_admin))
    assert checks["Toggl visibility"].status == status


async def test_unknown_admin_status_is_a_warning() -> None:
    checks = await run_checks(FakeToggl(is_admin=None, workspace_admin=None))
    assert checks["Toggl visibility"].status == "warning"
    assert "did not say" in checks["Toggl visibility"].message


async def test_free_plan_retention_is_a_warning_with_the_oldest_day() -> None:
    checks = await run_checks(FakeToggl(premium=False, retention_days=90, remaining="20"))
    plan = checks["Toggl plan"]
    assert plan.status == "warning"
    assert "Free plan keeps 90 days of data: entries before 2026-08-26" in plan.message
    quota = checks["Toggl quota"]
    assert quota.status == "ok"
    assert "at most 22 requests an hour: the Free plan's 30" in quota.message


async def test_a_low_quota_is_a_warning() -> None:
    checks = await run_checks(FakeToggl(remaining="3"))
    assert checks["Toggl quota"].status == "warning"
    assert "only 3 requests left this hour, resets in 30 min" in checks["Toggl quota"].message


async def test_missing_quota_headers_are_reported_not_failed() -> None:
    checks = await run_checks(FakeToggl(remaining=None))
    assert checks["Toggl quota"].status == "ok"
    assert "no X-Toggl-Quota-Remaining" in checks["Toggl quota"].message


async def test_a_rejected_token_is_one_error_and_nothing_else_is_asked() -> None:
    fake = FakeToggl(statuses={"/api/v9/me": 403}, texts={"/api/v9/me": "Forbidden"})
    checks = await run_checks(fake)
    assert checks["Toggl token"].status == "error"
    assert "check TOGGL_API_TOKEN" in checks["Toggl token"].message
    assert [c.status for c in checks.values()] == ["error"] + ["skip"] * 5
    assert fake.requests == ["GET /api/v9/me"]
    assert exit_code(checks.values()) == 1


async def test_no_access_to_the_workspace_skips_what_needs_it() -> None:
    users = f"/api/v9/workspaces/{WID}/users"
    checks = await run_checks(FakeToggl(statuses={users: 403}, workspace_listed=False))
    statuses = {name: check.status for name, check in checks.items()}
    assert statuses == {
        "Toggl token": "ok",
        "Toggl workspace": "error",
        "Toggl visibility": "skip",
        "Toggl plan": "skip",
        "Toggl reports": "skip",
        "Toggl quota": "ok",
    }
    assert "TOGGL_WORKSPACE_ID" in checks["Toggl workspace"].message


async def test_a_member_refused_the_users_list_is_a_visibility_warning_not_an_error() -> None:
    """Toggl documents a 403 for the users list; a member of the workspace may get it."""
    users = f"/api/v9/workspaces/{WID}/users"
    checks = await run_checks(FakeToggl(statuses={users: 403}, workspace_admin=False))
    statuses = {name: check.status for name, check in checks.items()}
    assert statuses["Toggl workspace"] == "ok"
    assert statuses["Toggl visibility"] == "warning"
    assert exit_code(checks.values()) == 0


async def test_a_feature_gated_report_is_an_error_that_names_the_feature() -> None:
    search = f"/reports/api/v3/workspace/{WID}/search/time_entries"
    fake = FakeToggl(
        statuses={search: 402}, texts={search: "Workspace needs to have this feature enabled"}
    )
    checks = await run_checks(fake)
    reports = checks["Toggl reports"]
    assert reports.status == "error"
    assert "feature" in reports.message
    assert "quota" not in reports.message.split("(HTTP 402")[0]
    assert len(fake.requests) == TOGGL_REQUEST_BUDGET
    assert exit_code(checks.values()) == 1
