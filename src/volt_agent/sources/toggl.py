"""Toggl Track client: account and workspace lookups (cached) and the detailed report.

Every request counts against Toggl's hourly quota, so ``/me``, the workspace user list and
the project list are fetched at most once per client, and time entries are fetched for the
whole range at once with ``settings.page_size`` rows per page (split only where
``max_range_days`` forces it; a refused or clamped size is stepped down, see
``sources.toggl_report``), one entry per row unless ``settings.grouped`` is on (a row then
carries every entry with the same description, project, task, tags and billable flag).
Cursor handling is ``sources.pagination``'s. Entries keep the UTC offset Toggl rendered
(the token user's profile zone). ``totals`` asks Toggl's own sums of the same filters, to
check a fetch is complete. Bad rows are counted in ``FetchStatistics``, never fatal.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import Any, NamedTuple

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

from volt_agent.config import HttpSettings, TogglSettings
from volt_agent.domain.models import FetchStatistics, TimeEntry, TogglUser
from volt_agent.errors import AuthError, ConfigError, ResponseFormatError, UserInputError
from volt_agent.sources.http import (
    ApiProfile,
    ApiRequester,
    BaseApiClient,
    SleepFn,
    TogglAuth,
    new_async_client,
)
from volt_agent.sources.pagination import DateWindow, HeaderPaginator, PageCursor, split_range
from volt_agent.sources.parsing import as_datetime, as_int
from volt_agent.sources.toggl_report import (
    REPORT_PATH,
    TOTALS_PATH,
    first_entry_ids,
    request_page,
    totals_seconds,
)

logger = logging.getLogger(__name__)

TOGGL = "Toggl"
USER_QUOTA_ENDPOINTS = frozenset({"me", "me_workspaces"})
"""Endpoint labels Toggl counts against the per-user quota (30 an hour), not the workspace's."""
PROJECTS_PER_PAGE = 200
"""The largest ``per_page`` of ``GET /workspaces/{wid}/projects`` ("Cannot exceed 200")."""


class TogglMe(TogglUser):
    """``GET /api/v9/me``: the token's own user and its default workspace."""

    default_workspace_id: int | None = None


class TogglProject(BaseModel):
    """A project of ``GET /workspaces/{wid}/projects``; ``active`` false = archived."""

    model_config = ConfigDict(extra="forbid")

    id: int
    name: str = ""
    workspace_id: int | None = None
    active: bool = True


class TogglWorkspace(BaseModel):
    """A workspace as ``GET /api/v9/me/workspaces`` lists it: plan and access hints.

    ``max_data_retention_days`` is "how far back free workspaces can access data" (``None``:
    no limit); ``admin``/``role`` describe the token's user there; ``premium``/``business_ws``
    are the plan flags. Each is ``None`` when the answer lacked it.
    """

    model_config = ConfigDict(extra="forbid")

    id: int
    name: str = ""
    organization_id: int | None = None
    admin: bool | None = None
    role: str | None = None
    premium: bool | None = None
    business_ws: bool | None = None
    max_data_retention_days: int | None = None


class TimeEntryPage(NamedTuple):
    """One report page: kept entries, the cursor of the page after it, what was dropped."""

    entries: list[TimeEntry]
    next_cursor: PageCursor | None
    stats: FetchStatistics
    page_size: int | None = None
    """Rows per page the server granted (``X-Page-Size`` when smaller than asked)."""


class TogglTotals(BaseModel):
    """Toggl's sums for a report's filters (``.../search/time_entries/totals``)."""

    seconds: int
    tracked_days: int | None = None
    """Days with tracked time, summed over the request windows; ``None`` if not answered."""


def add_statistics(total: FetchStatistics, page: FetchStatistics) -> FetchStatistics:
    """Field-wise sum of two statistics."""
    return FetchStatistics(
        **{
            name: getattr(total, name) + getattr(page, name)
            for name in FetchStatistics.model_fields
        }
    )


class TogglClient(BaseApiClient):
    """Async Toggl Track client; one per process (its limiter and caches are per instance)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: TogglSettings,
        http: HttpSettings,
        token: SecretStr,
        *,
        sleep: SleepFn = asyncio.sleep,
        limiter: AbstractAsyncContextManager[None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        profile = ApiProfile(
            source=TOGGL,
            credentials_env="TOGGL_API_TOKEN and TOGGL_WORKSPACE_ID",
            requests_per_second=settings.requests_per_second,
            max_quota_wait_seconds=settings.max_quota_wait_seconds,
            quota_setting="toggl.max_quota_wait_seconds",
            user_quota_endpoints=USER_QUOTA_ENDPOINTS,
        )
        requester = ApiRequester(
            client,
            profile,
            http,
            TogglAuth(token),
            secret=token,
            sleep=sleep,
            limiter=limiter,
            rng=rng,
        )
        super().__init__(requester, client)
        self._settings = settings
        self.page_size = settings.page_size
        """Report rows per page: the configured size until the server grants a smaller one."""
        self._base_url = settings.base_url.rstrip("/")
        self._lock = asyncio.Lock()
        self._me: TogglMe | None = None
        self._users: dict[int, list[TogglUser]] = {}
        self._projects: dict[int, list[TogglProject]] = {}
        self._workspaces: list[TogglWorkspace] | None = None

    @classmethod
    def create(
        cls,
        settings: TogglSettings,
        http: HttpSettings,
        token: SecretStr,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        sleep: SleepFn = asyncio.sleep,
    ) -> TogglClient:
        """A client owning its ``httpx.AsyncClient`` (closed by ``aclose()``)."""
        instance = cls(new_async_client(http, transport), settings, http, token, sleep=sleep)
        instance._owns_client = True
        return instance

    async def me(self) -> TogglMe:
        """The token's user (cached)."""
        async with self._lock:
            if self._me is None:
                data = await self._get("/api/v9/me", "me")
                if not isinstance(data, dict) or (user := _user(data)) is None:
                    raise ResponseFormatError(TOGGL, "/me did not answer with a user object")
                self._me = TogglMe(
                    **user.model_dump(),
                    default_workspace_id=as_int(data.get("default_workspace_id")),
                )
            return self._me

    async def workspace_id(self) -> int:
        """``settings.workspace_id``, else the account's default workspace (one ``/me``)."""
        if self._settings.workspace_id is not None:
            return self._settings.workspace_id
        me = await self.me()
        if me.default_workspace_id is None:
            raise ConfigError(
                "TOGGL_WORKSPACE_ID is not set and the Toggl account has no default workspace"
            )
        return me.default_workspace_id

    async def workspace_users(self, workspace_id: int | None = None) -> list[TogglUser]:
        """Users of the workspace (cached per workspace); entries without an id are skipped.

        Deactivated users stay in the list (their past entries still need a name), marked
        ``active=False``. Toggl documents a 403 "User does not have access to this resource"
        for this list: when the token's user is nevertheless a member of the workspace (it is
        in ``/me/workspaces``), that means a member token, and the list is just the token's
        own user, marked ``is_admin=False``; otherwise the 403 stands.
        """
        wid = workspace_id if workspace_id is not None else await self.workspace_id()
        refusal: AuthError | None = None
        async with self._lock:
            if wid not in self._users:
                try:
                    data = await self._get(f"/api/v9/workspaces/{wid}/users", "workspace_users")
                except AuthError as error:
                    refusal = error
                else:
                    rows = _list_of_dicts(data, "workspace users")
                    self._users[wid] = [u for row in rows if (u := _user(row)) is not None]
        if refusal is not None:
            if await self.workspace_info(wid) is None:
                raise refusal
            me = await self.me()
            logger.warning(
                "Toggl refused the workspace users list (HTTP 403): the token is not a"
                " workspace admin, so only its own user (%s) is known",
                me.name or me.id,
            )
            own = TogglUser(**me.model_dump(exclude={"default_workspace_id"}))
            self._users[wid] = [own.model_copy(update={"is_admin": False})]
        return list(self._users[wid])

    async def projects(self, workspace_id: int | None = None) -> list[TogglProject]:
        """Active and archived projects of the workspace (cached per workspace).

        The list is paged (``per_page`` at most 200): pages are read until a short one, or
        one that adds no project (a server ignoring ``page``).
        """
        wid = workspace_id if workspace_id is not None else await self.workspace_id()
        async with self._lock:
            if wid not in self._projects:
                self._projects[wid] = await self._project_pages(wid)
            return list(self._projects[wid])

    async def _project_pages(self, wid: int) -> list[TogglProject]:
        projects: dict[int, TogglProject] = {}
        page = 1
        while True:
            params = {"active": "both", "per_page": str(PROJECTS_PER_PAGE), "page": str(page)}
            data = await self._get(f"/api/v9/workspaces/{wid}/projects", "projects", params)
            rows = _list_of_dicts(data, "projects")
            before = len(projects)
            for row in rows:
                if (project := _project(row)) is not None:
                    projects.setdefault(project.id, project)
            if len(rows) < PROJECTS_PER_PAGE or len(projects) == before:
                return list(projects.values())
            page += 1

    async def workspace_info(self, workspace_id: int | None = None) -> TogglWorkspace | None:
        """The workspace's plan and access hints from ``/me/workspaces`` (cached; one
        user-level request), or ``None`` when the token's user does not list it."""
        wid = workspace_id if workspace_id is not None else await self.workspace_id()
        async with self._lock:
            if self._workspaces is None:
                data = await self._get("/api/v9/me/workspaces", "me_workspaces")
                self._workspaces = [
                    workspace
                    for row in _list_of_dicts(data, "workspaces")
                    if (workspace := _workspace(row)) is not None
                ]
            return next((w for w in self._workspaces if w.id == wid), None)

    async def token_is_admin(self, workspace_id: int | None = None) -> bool | None:
        """Whether the token's user is an admin of the workspace (sees everyone's entries).

        Read from the users list (``is_admin``, else a ``role`` naming admin) for ``/me``'s
        id; ``None`` when the list has no such row or says neither. Costs ``/me`` and the
        users list, both cached.
        """
        me = await self.me()
        for user in await self.workspace_users(workspace_id):
            if user.id == me.id:
                if user.is_admin is not None:
                    return user.is_admin
                return None if user.role is None else "admin" in user.role.lower()
        return None

    async def resolve_user_ids(
        self, emails: Sequence[str], workspace_id: int | None = None
    ) -> list[TogglUser]:
        """The workspace users with these emails (case-insensitive), in the order given.

        Raises ``UserInputError`` naming every email that matches nobody.
        """
        wanted = list(dict.fromkeys(email.strip().lower() for email in emails if email.strip()))
        if not wanted:
            return []
        by_email = {
            user.email.strip().lower(): user
            for user in await self.workspace_users(workspace_id)
            if user.email
        }
        unknown = [email for email in wanted if email not in by_email]
        if unknown:
            raise UserInputError(
                f"unknown Toggl user email(s): {', '.join(unknown)} — check --users"
            )
        found = [by_email[email] for email in wanted]
        for user in found:
            if not user.active:
                logger.warning(
                    "Toggl user %s (%s) is deactivated in the workspace; their past time"
                    " entries are still fetched",
                    user.name or user.id,
                    user.email,
                    extra={"source": TOGGL},
                )
        return found

    def iter_time_entry_pages(
        self,
        start_date: date,
        end_date: date,
        user_ids: Sequence[int] | None = None,
        cursor: PageCursor | None = None,
        *,
        workspace_id: int | None = None,
    ) -> AsyncIterator[TimeEntryPage]:
        """Pages of the detailed report for ``[start_date, end_date]`` (both inclusive).

        Each item is ``(entries, next_cursor, stats)``; pass the ``next_cursor`` of the last
        page already stored as ``cursor`` to resume after it (``None`` = nothing left).
        ``user_ids`` ``None`` or empty means every user. The range and the cursor are
        checked here, before any request; duplicates are only detected within one call.
        """
        windows = split_range(start_date, end_date, self._settings.max_range_days)
        paginator = HeaderPaginator(len(windows), cursor, source=TOGGL)
        if cursor is not None and cursor.page_size is not None:
            self.page_size = cursor.page_size
        return self._pages(windows, paginator, list(user_ids or []), workspace_id)

    async def fetch_time_entries(
        self,
        start_date: date,
        end_date: date,
        user_ids: Sequence[int] | None = None,
        *,
        workspace_id: int | None = None,
    ) -> tuple[list[TimeEntry], FetchStatistics]:
        """Every kept entry of the range and the summed statistics of all pages."""
        entries: list[TimeEntry] = []
        total = FetchStatistics()
        pages = self.iter_time_entry_pages(
            start_date, end_date, user_ids, workspace_id=workspace_id
        )
        async for page in pages:
            entries.extend(page.entries)
            total = add_statistics(total, page.stats)
        return entries, total

    async def _pages(
        self,
        windows: list[DateWindow],
        paginator: HeaderPaginator,
        user_ids: list[int],
        workspace_id: int | None,
    ) -> AsyncIterator[TimeEntryPage]:
        wid = workspace_id if workspace_id is not None else await self.workspace_id()
        url = self._base_url + REPORT_PATH.format(workspace_id=wid)
        seen: set[int] = set()
        while (current := paginator.current) is not None:
            window_start, window_end = windows[current.window_index]
            filters: dict[str, Any] = {
                "start_date": window_start.isoformat(),
                "end_date": window_end.isoformat(),
                "grouped": self._settings.grouped,
                "order_by": "date",
                "order_dir": "ASC",
            }
            if user_ids:
                filters["user_ids"] = user_ids
            response, self.page_size = await request_page(
                self._requester, url, filters, paginator, self._settings.page_size
            )
            rows = response.data
            if not paginator.check_page(first_entry_ids(rows), len(rows)):
                continue
            entries, stats = flatten_rows(rows, seen)
            next_cursor = paginator.advance(response.headers)
            logger.debug(
                "Toggl report page: %d rows kept of %d",
                stats.entries_kept,
                stats.rows_received,
                extra={"source": TOGGL, "window": current.window_index},
            )
            yield TimeEntryPage(entries, next_cursor, stats, self.page_size)

    async def totals(
        self,
        start_date: date,
        end_date: date,
        user_ids: Sequence[int] | None = None,
        *,
        workspace_id: int | None = None,
    ) -> TogglTotals:
        """Toggl's totals for the same filters as ``fetch_time_entries`` (one request per
        ``max_range_days`` window, summed); ``user_ids`` ``None`` or empty means everyone."""
        windows = split_range(start_date, end_date, self._settings.max_range_days)
        wid = workspace_id if workspace_id is not None else await self.workspace_id()
        url = self._base_url + TOTALS_PATH.format(workspace_id=wid)
        seconds, days = 0, 0
        days_known = True
        for window_start, window_end in windows:
            body: dict[str, Any] = {
                "start_date": window_start.isoformat(),
                "end_date": window_end.isoformat(),
            }
            if user_ids:
                body["user_ids"] = list(user_ids)
            response = await self._requester.request_json(
                "POST", url, endpoint="time_entry_totals", json_body=body
            )
            window_seconds, window_days = totals_seconds(response.data, TOGGL)
            seconds += window_seconds
            days += window_days or 0
            days_known = days_known and window_days is not None
        return TogglTotals(seconds=seconds, tracked_days=days if days_known else None)

    async def _get(self, path: str, endpoint: str, params: Mapping[str, str] | None = None) -> Any:
        response = await self._requester.request_json(
            "GET", f"{self._base_url}{path}", endpoint=endpoint, params=params
        )
        return response.data


def flatten_rows(rows: list[Any], seen_ids: set[int]) -> tuple[list[TimeEntry], FetchStatistics]:
    """Report rows → ``TimeEntry`` per nested time entry; ``seen_ids`` is updated in place.

    ``rows_received`` counts candidate entries (a row that cannot be read counts as one),
    so ``rows_received == entries_kept + every *_dropped counter``.
    """
    stats = FetchStatistics()
    kept: list[TimeEntry] = []
    for row in rows:
        items = row.get("time_entries") if isinstance(row, dict) else None
        if not isinstance(row, dict) or not isinstance(items, list) or not items:
            stats.rows_received += 1
            stats.malformed_rows_dropped += 1
            continue
        for item in items:
            stats.rows_received += 1
            outcome = _flatten_entry(row, item)
            if isinstance(outcome, str):
                setattr(stats, outcome, getattr(stats, outcome) + 1)
            elif outcome.id in seen_ids:
                stats.duplicates_dropped += 1
            else:
                seen_ids.add(outcome.id)
                if row.get("description") is None:
                    stats.null_descriptions += 1
                stats.entries_kept += 1
                kept.append(outcome)
    return kept, stats


def _flatten_entry(row: dict[str, Any], item: Any) -> TimeEntry | str:
    """The entry, or the name of the ``FetchStatistics`` counter that explains its drop."""
    if not isinstance(item, dict):
        return "malformed_rows_dropped"
    entry_id, user_id = as_int(item.get("id")), as_int(row.get("user_id"))
    seconds, start = as_int(item.get("seconds")), as_datetime(item.get("start"))
    if entry_id is None or user_id is None or seconds is None or start is None:
        return "malformed_rows_dropped"
    if item.get("stop") is None:
        return "running_entries_dropped"
    stop = as_datetime(item.get("stop"))
    if stop is None:
        return "malformed_rows_dropped"
    if seconds < 0:
        return "negative_durations_dropped"
    description = row.get("description")
    tag_ids = row.get("tag_ids")
    return TimeEntry(
        id=entry_id,
        user_id=user_id,
        user_name=row["username"] if isinstance(row.get("username"), str) else "",
        description="" if description is None else str(description),
        project_id=as_int(row.get("project_id")),
        task_id=as_int(row.get("task_id")),
        billable=row.get("billable") is True,
        tag_ids=[t for tag in tag_ids if (t := as_int(tag)) is not None]
        if isinstance(tag_ids, list)
        else [],
        start=start,
        stop=stop,
        seconds=seconds,
    )


def _user(row: dict[str, Any]) -> TogglUser | None:
    """A user of ``/me`` or of the users list (``inactive``/``is_active`` false = deactivated;
    ``is_admin``, or the older ``admin``; no ``timezone`` in the list)."""
    user_id = as_int(row.get("id"))
    if user_id is None:
        return None
    email, name = _text(row, "email"), _text(row, "fullname")
    is_admin = row.get("is_admin", row.get("admin"))
    return TogglUser(
        id=user_id,
        email=email,
        name=name or "",
        timezone=_text(row, "timezone"),
        active=row.get("inactive") is not True and row.get("is_active") is not False,
        is_admin=is_admin if isinstance(is_admin, bool) else None,
        role=_text(row, "role"),
    )


def _project(row: dict[str, Any]) -> TogglProject | None:
    project_id = as_int(row.get("id"))
    if project_id is None:
        return None
    return TogglProject(
        id=project_id,
        name=_text(row, "name") or "",
        workspace_id=as_int(row.get("workspace_id")),
        active=row.get("active") is not False,
    )


def _workspace(row: dict[str, Any]) -> TogglWorkspace | None:
    workspace_id = as_int(row.get("id"))
    if workspace_id is None:
        return None
    flags = {name: row.get(name) for name in ("admin", "premium", "business_ws")}
    return TogglWorkspace(
        id=workspace_id,
        name=_text(row, "name") or "",
        organization_id=as_int(row.get("organization_id")),
        role=_text(row, "role"),
        max_data_retention_days=as_int(row.get("max_data_retention_days")),
        **{name: value for name, value in flags.items() if isinstance(value, bool)},
    )


def _text(row: dict[str, Any], name: str) -> str | None:
    value = row.get(name)
    return value if isinstance(value, str) else None


def _list_of_dicts(data: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise ResponseFormatError(TOGGL, f"{what}: expected a JSON list")
    return [row for row in data if isinstance(row, dict)]
