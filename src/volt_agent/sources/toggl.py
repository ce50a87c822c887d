"""Toggl Track client: account and workspace lookups (cached) and the detailed report.

Every request counts against Toggl's hourly quota, so the project list is fetched at most
once per client, ``/me`` and the workspace user list at most once per
``settings.user_cache_seconds`` (a long-lived worker still learns of a new hire), and time
entries for the whole range at once with ``settings.page_size`` rows per page (split only
where ``max_range_days`` forces it; a refused or clamped size is stepped down, see
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
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import Any

import httpx
from pydantic import SecretStr

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
from volt_agent.sources.parsing import as_int
from volt_agent.sources.toggl_report import (
    REPORT_PATH,
    TOTALS_PATH,
    first_entry_ids,
    request_page,
    totals_seconds,
)
from volt_agent.sources.toggl_rows import (
    TOGGL,
    TimeEntryPage,
    TogglMe,
    TogglProject,
    TogglTotals,
    TogglWorkspace,
    add_statistics,
    flatten_rows,
    list_of_dicts,
    project_from_row,
    user_from_row,
    workspace_from_row,
)

logger = logging.getLogger(__name__)

USER_QUOTA_ENDPOINTS = frozenset({"me", "me_workspaces"})
"""Endpoint labels Toggl counts against the per-user quota (30 an hour), not the workspace's."""
PROJECTS_PER_PAGE = 200
"""The largest ``per_page`` of ``GET /workspaces/{wid}/projects`` ("Cannot exceed 200")."""


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
        clock: Callable[[], float] = time.monotonic,
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
        """Report rows per page: the configured size until the server grants a smaller one,
        then that size for every later fetch of this client (a refused size costs a request
        once per process, not once per run)."""
        self._base_url = settings.base_url.rstrip("/")
        self._lock = asyncio.Lock()
        self._clock = clock
        self._me: TogglMe | None = None
        self._me_at = 0.0
        self._users: dict[int, list[TogglUser]] = {}
        self._users_at: dict[int, float] = {}
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
        """The token's user (cached for ``settings.user_cache_seconds``)."""
        async with self._lock:
            if self._me is None or self._expired(self._me_at):
                data = await self._get("/api/v9/me", "me")
                if not isinstance(data, dict) or (user := user_from_row(data)) is None:
                    raise ResponseFormatError(TOGGL, "/me did not answer with a user object")
                self._me = TogglMe(
                    **user.model_dump(),
                    default_workspace_id=as_int(data.get("default_workspace_id")),
                )
                self._me_at = self._clock()
            return self._me

    def _expired(self, fetched_at: float) -> bool:
        return self._clock() - fetched_at >= self._settings.user_cache_seconds

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
        """Users of the workspace (cached per workspace for ``settings.user_cache_seconds``);
        entries without an id are skipped.

        Deactivated users stay in the list (their past entries still need a name), marked
        ``active=False``. Toggl documents a 403 "User does not have access to this resource"
        for this list: when the token's user is nevertheless a member of the workspace (it is
        in ``/me/workspaces``), that means a member token, and the list is just the token's
        own user, marked ``is_admin=False``; otherwise the 403 stands.
        """
        wid = workspace_id if workspace_id is not None else await self.workspace_id()
        refusal: AuthError | None = None
        async with self._lock:
            if wid not in self._users or self._expired(self._users_at[wid]):
                try:
                    data = await self._get(f"/api/v9/workspaces/{wid}/users", "workspace_users")
                except AuthError as error:
                    refusal = error
                else:
                    rows = list_of_dicts(data, "workspace users")
                    self._users[wid] = [u for row in rows if (u := user_from_row(row)) is not None]
                    self._users_at[wid] = self._clock()
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
            self._users_at[wid] = self._clock()
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
            rows = list_of_dicts(data, "projects")
            before = len(projects)
            for row in rows:
                if (project := project_from_row(row)) is not None:
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
                    for row in list_of_dicts(data, "workspaces")
                    if (workspace := workspace_from_row(row)) is not None
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
                self._requester, url, filters, paginator, self.page_size
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


__all__ = [
    "TOGGL",
    "TimeEntryPage",
    "TogglClient",
    "TogglMe",
    "TogglProject",
    "TogglTotals",
    "TogglWorkspace",
    "add_statistics",
    "flatten_rows",
]
