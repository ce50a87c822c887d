"""Toggl Track simulator: Reports API v3 detailed search and Track API v9, per docs/API_NOTES.md.

Auth is HTTP Basic ``{token}:api_token``; failures answer 403 with a text body. Every request
passes the leaky bucket (429 + ``Retry-After``) when ``requests_per_second`` is set. Workspace
endpoints (search, users, projects) count against ``hourly_quota`` (Premium's 600 by default)
and ``/me``, ``/me/workspaces`` against ``me_hourly_quota`` (30); 60-minute windows, sliding
or fixed (``quota_window``), 402 with a quota text when used up. While a quota is set, every
answer of its endpoints after auth (200, 400, 402, 403, 429) carries
``X-Toggl-Quota-Remaining`` and ``X-Toggl-Quota-Resets-In``; ``feature_gated_endpoints``
answer the other 402, "Workspace needs to have this feature enabled", with those headers too.
A member token (``token_role``) sees only its own entries; ``data_retention_days`` hides
older ones. The v9 account answers live in ``sandbox._toggl_account``. A numeric workspace
id other than the sandbox's answers 403, a non-numeric one 404. Search and totals (time
zones, page-size cap, cursor modes, headers): ``sandbox._toggl_search``. With ``bad_rows``
the search also serves the bad rows of ``sandbox._bad_data`` (missing fields, null
description, negative and running entries, an entry repeated on two pages).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from volt_agent.sandbox import _toggl_account as account
from volt_agent.sandbox._bad_data import NULL_DESCRIPTION_SECONDS, RUNNING_TIMER_SECONDS, bad_rows
from volt_agent.sandbox._common import Rejection, SimulatorOptions, assemble
from volt_agent.sandbox._limits import HourlyQuota, QuotaAnswer, QuotaWindow, hourly_quota
from volt_agent.sandbox._toggl_search import (
    CURSOR_MODES,
    DATE_FILTER_ZONES,
    PAGE_SIZE_MODES,
    CursorMode,
    DateFilterZone,
    EntryIndex,
    PageSizeMode,
    ReportFilter,
    SearchError,
    SearchPage,
    SearchQuery,
    parse_search,
    parse_totals,
    range_headers,
)
from volt_agent.sandbox.stats import EndpointTable, RequestStats
from volt_agent.sandbox.workspace import Workspace

SEARCH = "toggl.search_time_entries"
SEARCH_TOTALS = "toggl.search_totals"
ME = "toggl.me"
WORKSPACE_USERS = "toggl.workspace_users"
PROJECTS = "toggl.projects"
ME_WORKSPACES = "toggl.me_workspaces"
OTHER = "toggl.other"

PREMIUM_HOURLY_QUOTA = 600
"""Workspace requests per hour on the Premium plan (Toggl's "API & Webhook limits")."""
USER_HOURLY_QUOTA = 30
"""User-level requests (``/me``) per hour on every plan (same article)."""
FEATURE_GATE_MESSAGE = "Workspace needs to have this feature enabled"
"""The Reports v3 swagger's text for a 402 caused by a missing plan feature."""

TOGGL_ENDPOINTS = EndpointTable(
    (
        ("POST", r"/reports/api/v3/workspace/[^/]+/search/time_entries", SEARCH),
        ("POST", r"/reports/api/v3/workspace/[^/]+/search/time_entries/totals", SEARCH_TOTALS),
        ("GET", r"/api/v9/me", ME),
        ("GET", r"/api/v9/workspaces/[^/]+/users", WORKSPACE_USERS),
        ("GET", r"/api/v9/workspaces/[^/]+/projects", PROJECTS),
        ("GET", r"/api/v9/me/workspaces", ME_WORKSPACES),
    ),
    fallback=OTHER,
)


@dataclass(frozen=True)
class TogglSimulatorOptions(SimulatorOptions):
    """``max_range_days`` bounds a search (400 beyond), ``max_page_size`` its pages (see
    ``page_size_mode``); ``bad_rows`` mixes the bad rows of ``sandbox._bad_data`` into search
    answers."""

    token: str = "toggl-sandbox-token"  # noqa: S105  # a public sandbox token
    hourly_quota: int | None = PREMIUM_HOURLY_QUOTA
    """Workspace requests per hour (Free 30, Starter 240, Premium 600); ``None``: no quota
    and no quota headers."""
    me_hourly_quota: int | None = USER_HOURLY_QUOTA
    """``/me`` and ``/me/*`` requests per hour; ``None``: no quota and no quota headers."""
    quota_window: QuotaWindow = "sliding"
    """``sliding``: any 60 minutes; ``fixed``: 60 minutes from the first request, then reset."""
    quota_window_seconds: float = 3600.0
    """The quota window's length: Toggl's hour, or a few seconds to test waits for a reset."""
    feature_gated_endpoints: frozenset[str] = frozenset()
    """Endpoint names (``TOGGL_ENDPOINTS``) answered with the feature-gate 402."""
    token_role: Literal["admin", "member"] = "admin"  # noqa: S105  # a role, not a secret
    """A member token sees only its own entries and is no admin in the users list."""
    member_users: Literal["all", "self", "forbidden"] = "all"
    """What a member token's users list holds: every user, only its own row, or nothing: 403
    "User does not have access to this resource" (the documented error of that endpoint)."""
    data_retention_days: int | None = None
    """A Free workspace's ``max_data_retention_days``: older entries are not served."""
    today: date | None = None
    """The day retention counts back from; ``None``: today in UTC."""
    extra_projects: int = 0
    """Generated projects added to the workspace's (to exercise project paging)."""
    max_page_size: int = 200
    """The server's page-size cap (unknown for the real API; public code sends 50, 200, 1000)."""
    page_size_mode: PageSizeMode = "clamp"
    """Above the cap: ``clamp`` answers ``max_page_size`` rows (``X-Page-Size`` says so),
    ``reject`` answers 400 naming page_size and the cap."""
    cursor_mode: CursorMode = "row_number"
    """How a follow-up page resumes (``sandbox._toggl_search``): ``row_number``,
    ``id_and_row_number`` or ``id_row_number_bug``."""
    date_filter_zone: DateFilterZone = "creator"
    """Whose time zone puts an entry on a date: its ``creator``'s or the ``token_user``'s."""
    max_range_days: int = 366
    bad_rows: bool = False
    totals_count_running: bool = False
    """Whether the totals count a running timer's time so far (undocumented): with
    ``bad_rows``, the synthetic running timer then adds ``RUNNING_TIMER_SECONDS``."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_search_options()
        if min(self.hourly_quota or 0, self.me_hourly_quota or 0) < 0:
            raise ValueError("quotas must not be negative")
        if self.quota_window_seconds <= 0:
            raise ValueError("quota_window_seconds must be positive")
        self._check_account_options()

    def _check_search_options(self) -> None:
        if self.max_page_size < 1 or self.max_range_days < 1:
            raise ValueError("max_page_size and max_range_days must be at least 1")
        if self.page_size_mode not in PAGE_SIZE_MODES:
            raise ValueError(f"page_size_mode must be one of {', '.join(PAGE_SIZE_MODES)}")
        if self.cursor_mode not in CURSOR_MODES:
            raise ValueError(f"cursor_mode must be one of {', '.join(CURSOR_MODES)}")
        if self.date_filter_zone not in DATE_FILTER_ZONES:
            raise ValueError(f"date_filter_zone must be one of {', '.join(DATE_FILTER_ZONES)}")

    def _check_account_options(self) -> None:
        if self.quota_window not in ("sliding", "fixed"):
            raise ValueError("quota_window must be 'sliding' or 'fixed'")
        if self.token_role not in ("admin", "member") or self.member_users not in (
            "all",
            "self",
            "forbidden",
        ):
            raise ValueError("token_role must be admin|member and member_users all|self|forbidden")
        unknown = set(self.feature_gated_endpoints) - set(TOGGL_ENDPOINTS.names)
        if unknown:
            raise ValueError(f"feature_gated_endpoints: unknown endpoint(s) {sorted(unknown)}")
        retention = self.data_retention_days
        if (retention is not None and retention < 1) or self.extra_projects < 0:
            raise ValueError("data_retention_days must be >= 1 and extra_projects >= 0")

    def retention_today(self) -> date:
        return self.today or datetime.now(UTC).date()


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
        served = account.retained(
            workspace.time_entries, options.data_retention_days, options.retention_today()
        )
        self.index = EntryIndex(
            served, workspace.toggl_users, workspace.me, options.date_filter_zone
        )
        self.projects = account.all_projects(workspace, options.extra_projects)

    def admit(self, request: Request, quota: HourlyQuota | None) -> dict[str, str]:
        """Auth, rate limit, quota, feature gate, in that order; the answer's quota headers.

        A 429 carries the quota as it stands (the refused request is not counted); a request
        the quota admits counts even when the feature gate then refuses it.
        """
        if not self._authenticated(request.headers.get("authorization", "")):
            raise Rejection(_text(403, "Incorrect username and/or password"))
        if self.bucket is not None and (wait := self.bucket.try_acquire()) is not None:
            self.stats.increment("rate_limited")
            headers = {} if quota is None else _quota_headers(quota.peek())
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
            raise Rejection(_text(429, "Too Many Requests: slow down", headers))
        headers = {}
        if quota is not None:
            answer = quota.try_acquire()
            headers = _quota_headers(answer)
            if not answer.admitted:
                self.stats.increment("quota_exceeded")
                message = (
                    "Quota exceeded: the hourly API request quota of this plan is used up;"
                    f" it resets in {answer.resets_in} seconds"
                )
                raise Rejection(_text(402, message, headers))
        endpoint = TOGGL_ENDPOINTS.resolve(request.method, request.url.path)
        if endpoint in self.options.feature_gated_endpoints:
            self.stats.increment("feature_gated")
            raise Rejection(_text(402, FEATURE_GATE_MESSAGE, headers))
        return headers

    def is_admin(self) -> bool:
        return self.options.token_role == "admin"  # noqa: S105  # a role, not a secret

    def visible_user_ids(self, query_user_ids: frozenset[int] | None) -> frozenset[int] | None:
        """The user filter a search or totals request really gets.

        An admin token gets what it asked (``None``: everyone); a member token sees only its
        own entries ("View reports of their own tracked time", Toggl's "Access rights and
        privileges"), so asking for others gives nothing.
        """
        if self.is_admin():
            return query_user_ids
        own = frozenset({self.workspace.me.id})
        return own if query_user_ids is None else own & query_user_ids

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
        me, users = self.workspace.me, query.filter.user_ids
        if page.first_row_number == 1 and (users is None or me.id in users):
            report_filter = query.filter
            middle = (report_filter.end_date - report_filter.start_date) // 2
            rows = bad_rows(me, report_filter.start_date + middle) + rows
        return rows

    def totals(self, report_filter: ReportFilter) -> dict[str, Any]:
        """The totals of ``report_filter``; with ``bad_rows``, plus the one valid synthetic
        entry the first page carries (so a correct client's sum still agrees)."""
        body = self.index.totals(report_filter)
        users = report_filter.user_ids
        if self.options.bad_rows and (users is None or self.workspace.me.id in users):
            body["seconds"] += NULL_DESCRIPTION_SECONDS
            if self.options.totals_count_running:
                body["seconds"] += RUNNING_TIMER_SECONDS
        return body

    def visible(self, report_filter: ReportFilter) -> ReportFilter:
        """The filter narrowed to the users this token may see."""
        return replace(report_filter, user_ids=self.visible_user_ids(report_filter.user_ids))

    def check_workspace(self, workspace_id: str, headers: dict[str, str]) -> None:
        if not workspace_id.isdigit():
            raise Rejection(_text(404, "Not Found", headers))
        if int(workspace_id) != self.workspace.workspace_id:
            raise Rejection(_text(403, "Forbidden: no access to this workspace", headers))


def _quota(limit: int | None, options: TogglSimulatorOptions) -> HourlyQuota | None:
    if limit is None:
        return None
    return hourly_quota(limit, options.clock, options.quota_window, options.quota_window_seconds)


def _quota_headers(answer: QuotaAnswer) -> dict[str, str]:
    return {
        "X-Toggl-Quota-Remaining": str(answer.remaining),
        "X-Toggl-Quota-Resets-In": str(answer.resets_in),
    }


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
                page_size_mode=options.page_size_mode,
                max_range_days=options.max_range_days,
            )
            query = replace(query, filter=sim.visible(query.filter))
            page = sim.index.search(query, options.cursor_mode)
        except SearchError as error:
            return _text(400, str(error), headers)
        headers |= range_headers(query.filter) | {"X-Page-Size": str(query.page_size)}
        following = page.next_entry
        if following is not None and page.next_row_number is not None:
            headers["X-Next-ID"] = str(following.id)
            headers["X-Next-Row-Number"] = str(page.next_row_number)
            headers["X-Next-Timestamp"] = str(int(following.start.timestamp()))
        return JSONResponse(sim.rows(query, page), headers=headers)

    @app.post("/reports/api/v3/workspace/{workspace_id}/search/time_entries/totals")
    async def search_totals(workspace_id: str, request: Request) -> Response:
        headers = sim.admit(request, sim.quota)
        sim.check_workspace(workspace_id, headers)
        try:
            report_filter = parse_totals(
                await request.body(), max_range_days=options.max_range_days
            )
        except SearchError as error:
            return _text(400, str(error), headers)
        report_filter = sim.visible(report_filter)
        headers |= range_headers(report_filter)
        return JSONResponse(sim.totals(report_filter), headers=headers)

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

    @app.get("/api/v9/me/workspaces")
    async def me_workspaces(request: Request) -> Response:
        headers = sim.admit(request, sim.me_quota)
        row = account.workspace_row(
            workspace, admin=sim.is_admin(), retention_days=options.data_retention_days
        )
        return JSONResponse([row], headers=headers)

    @app.get("/api/v9/workspaces/{workspace_id}/users")
    async def workspace_users(workspace_id: str, request: Request) -> Response:
        headers = sim.admit(request, sim.quota)
        sim.check_workspace(workspace_id, headers)
        try:
            account.bool_param(request.query_params, "exclude_deleted")  # none are deleted
        except account.ParamError as error:
            return _text(400, str(error), headers)
        if not sim.is_admin() and options.member_users == "forbidden":
            return _text(403, "User does not have access to this resource", headers)
        only_self = not sim.is_admin() and options.member_users == "self"
        body = account.user_rows(workspace.toggl_users, admin=sim.is_admin(), only_self=only_self)
        return JSONResponse(body, headers=headers)

    @app.get("/api/v9/workspaces/{workspace_id}/projects")
    async def projects(workspace_id: str, request: Request) -> Response:
        headers = sim.admit(request, sim.quota)
        sim.check_workspace(workspace_id, headers)
        try:
            body = account.project_page(sim.projects, workspace.workspace_id, request.query_params)
        except account.ParamError as error:
            return _text(400, str(error), headers)
        return JSONResponse(body, headers=headers)

    assemble(app, stats=stats, endpoints=TOGGL_ENDPOINTS, options=options, json_errors=False)
    return app
