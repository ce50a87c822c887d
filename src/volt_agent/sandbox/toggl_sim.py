"""Toggl Track simulator: Reports API v3 detailed search and Track API v9, per docs/API_NOTES.md.

Auth is HTTP Basic ``{token}:api_token``; failures answer 403 with a text body. Every request
passes the leaky bucket (429 + ``Retry-After``) when ``requests_per_second`` is set. Workspace
endpoints (search, users, projects) count against ``hourly_quota`` and ``/me`` against
``me_hourly_quota`` (sliding 60-minute windows, 402 when used up); when a quota is set, every
admitted or refused answer of its endpoints carries ``X-Toggl-Quota-Remaining`` and
``X-Toggl-Quota-Resets-In``. A numeric workspace id other than the sandbox's answers 403, a
non-numeric one 404. Times are rendered in UTC (``+00:00``). With ``bad_rows`` the search
also serves the bad rows of ``sandbox._bad_data`` (missing fields, null description,
negative and running entries, an entry repeated on two pages).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from volt_agent.sandbox._bad_data import bad_rows
from volt_agent.sandbox._common import Rejection, SimulatorOptions, assemble
from volt_agent.sandbox._limits import SlidingWindowQuota
from volt_agent.sandbox._toggl_search import (
    EntryIndex,
    SearchError,
    SearchPage,
    SearchQuery,
    parse_search,
)
from volt_agent.sandbox.stats import EndpointTable, RequestStats
from volt_agent.sandbox.workspace import Workspace

SEARCH = "toggl.search_time_entries"
ME = "toggl.me"
WORKSPACE_USERS = "toggl.workspace_users"
PROJECTS = "toggl.projects"
OTHER = "toggl.other"

TOGGL_ENDPOINTS = EndpointTable(
    (
        ("POST", r"/reports/api/v3/workspace/[^/]+/search/time_entries", SEARCH),
        ("GET", r"/api/v9/me", ME),
        ("GET", r"/api/v9/workspaces/[^/]+/users", WORKSPACE_USERS),
        ("GET", r"/api/v9/workspaces/[^/]+/projects", PROJECTS),
    ),
    fallback=OTHER,
)


@dataclass(frozen=True)
class TogglSimulatorOptions(SimulatorOptions):
    """``max_page_size``/``max_range_days`` bound a search (400 beyond); ``bad_rows`` mixes
    the bad rows of ``sandbox._bad_data`` into search answers."""

    token: str = "toggl-sandbox-token"  # noqa: S105  # a public sandbox token
    hourly_quota: int | None = None
    me_hourly_quota: int | None = None
    max_page_size: int = 200
    max_range_days: int = 366
    bad_rows: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_page_size < 1 or self.max_range_days < 1:
            raise ValueError("max_page_size and max_range_days must be at least 1")
        if min(self.hourly_quota or 0, self.me_hourly_quota or 0) < 0:
            raise ValueError("quotas must not be negative")


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> PlainTextResponse:
    return PlainTextResponse(message, status_code=status, headers=headers)


class _Toggl:
    def __init__(self, workspace: Workspace, options: TogglSimulatorOptions, stats: RequestStats):
        self.workspace = workspace
        self.options = options
        self.stats = stats
        self.bucket = options.bucket()
        self.quota = _quota(options.hourly_quota, options)
        self.me_quota = _quota(options.me_hourly_quota, options)
        names = {user.id: user.fullname for user in workspace.toggl_users}
        self.index = EntryIndex(workspace.time_entries, names)

    def admit(self, request: Request, quota: SlidingWindowQuota | None) -> dict[str, str]:
        """Auth, rate limit, quota, in that order; the quota headers for the answer."""
        if not self._authenticated(request.headers.get("authorization", "")):
            raise Rejection(_text(403, "Incorrect username and/or password"))
        if self.bucket is not None and (wait := self.bucket.try_acquire()) is not None:
            self.stats.increment("rate_limited")
            retry_after = str(max(1, math.ceil(wait)))
            raise Rejection(
                _text(429, "Too Many Requests: slow down", {"Retry-After": retry_after})
            )
        if quota is None:
            return {}
        answer = quota.try_acquire()
        headers = {
            "X-Toggl-Quota-Remaining": str(answer.remaining),
            "X-Toggl-Quota-Resets-In": str(answer.resets_in),
        }
        if not answer.admitted:
            self.stats.increment("quota_exceeded")
            message = f"Quota exceeded: try again in {answer.resets_in} seconds"
            raise Rejection(_text(402, message, headers))
        return headers

    def _authenticated(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, _, password = decoded.partition(":")
        token_ok = hmac.compare_digest(user.encode(), self.options.token.encode())
        return token_ok and password == "api_token"  # noqa: S105  # Toggl's fixed literal

    def rows(self, query: SearchQuery, page: SearchPage) -> list[dict[str, Any]]:
        """The page's rows, with the bad rows mixed in when ``bad_rows`` is on."""
        if not self.options.bad_rows:
            return page.rows
        rows = list(page.rows)
        if page.next_entry is not None:  # repeated as the next page's first entry
            rows.append(self.index.row(page.next_entry, (page.next_row_number or 0) - 1))
        me = self.workspace.me
        first_page = query.first_id is None and (query.first_row_number or 1) == 1
        if first_page and (query.user_ids is None or me.id in query.user_ids):
            rows = bad_rows(me, query.start_date) + rows
        return rows

    def check_workspace(self, workspace_id: str, headers: dict[str, str]) -> None:
        if not workspace_id.isdigit():
            raise Rejection(_text(404, "Not Found", headers))
        if int(workspace_id) != self.workspace.workspace_id:
            raise Rejection(_text(403, "Forbidden: no access to this workspace", headers))


def _quota(limit: int | None, options: TogglSimulatorOptions) -> SlidingWindowQuota | None:
    return None if limit is None else SlidingWindowQuota(limit, options.clock)


def create_toggl_app(workspace: Workspace, options: TogglSimulatorOptions | None = None) -> FastAPI:
    """An ASGI app serving ``workspace`` like Toggl Track; counters in ``app.state.stats``."""
    options = options or TogglSimulatorOptions()
    stats = RequestStats(TOGGL_ENDPOINTS.names)
    sim = _Toggl(workspace, options, stats)
    app = FastAPI(title="Toggl Track simulator", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/reports/api/v3/workspace/{workspace_id}/search/time_entries")
    async def search_time_entries(workspace_id: str, request: Request) -> Response:
        headers = sim.admit(request, sim.quota)
        sim.check_workspace(workspace_id, headers)
        try:
            query = parse_search(
                await request.body(),
                max_page_size=options.max_page_size,
                max_range_days=options.max_range_days,
            )
            page = sim.index.search(query)
        except SearchError as error:
            return _text(400, str(error), headers)
        following = page.next_entry
        headers["X-Is-Final"] = "true" if following is None else "false"
        if following is not None and page.next_row_number is not None:
            headers["X-Next-ID"] = str(following.id)
            headers["X-Next-Row-Number"] = str(page.next_row_number)
            headers["X-Next-Timestamp"] = str(int(following.start.timestamp()))
        return JSONResponse(sim.rows(query, page), headers=headers)

    @app.get("/api/v9/me")
    async def me(request: Request) -> Response:
        headers = sim.admit(request, sim.me_quota)
        user = workspace.me
        body = {
            "id": user.id,
            "email": user.email,
            "fullname": user.fullname,
            "default_workspace_id": workspace.workspace_id,
            "timezone": user.timezone,
        }
        return JSONResponse(body, headers=headers)

    @app.get("/api/v9/workspaces/{workspace_id}/users")
    async def workspace_users(workspace_id: str, request: Request) -> Response:
        headers = sim.admit(request, sim.quota)
        sim.check_workspace(workspace_id, headers)
        body = [
            {"id": u.id, "email": u.email, "fullname": u.fullname, "timezone": u.timezone}
            for u in workspace.toggl_users
        ]
        return JSONResponse(body, headers=headers)

    @app.get("/api/v9/workspaces/{workspace_id}/projects")
    async def projects(workspace_id: str, request: Request) -> Response:
        headers = sim.admit(request, sim.quota)
        sim.check_workspace(workspace_id, headers)
        body = [
            {"id": p.id, "name": p.name, "workspace_id": workspace.workspace_id, "active": p.active}
            for p in workspace.toggl_projects
        ]
        return JSONResponse(body, headers=headers)

    assemble(app, stats=stats, endpoints=TOGGL_ENDPOINTS, options=options, json_errors=False)
    return app
