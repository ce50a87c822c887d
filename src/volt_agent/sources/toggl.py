"""Toggl Track client: account and workspace lookups (cached) and the detailed report.

Every request counts against Toggl's hourly quota, so ``/me``, the workspace user list and
the project list are fetched at most once per client, and time entries are fetched for the
whole range at once with ``settings.page_size`` rows per page (split only where
``max_range_days`` forces it), as grouped rows unless ``settings.grouped`` is off (a row then
carries every entry with the same description, project, task, tags and billable flag, so a
page holds more entries). Bad rows are counted in ``FetchStatistics``, never fatal.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import Any, NamedTuple

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

from volt_agent.config import HttpSettings, TogglSettings
from volt_agent.domain.models import FetchStatistics, TimeEntry, TogglUser
from volt_agent.errors import ConfigError, ResponseFormatError, UserInputError
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

logger = logging.getLogger(__name__)

TOGGL = "Toggl"


class TogglMe(TogglUser):
    """``GET /api/v9/me``: the token's own user and its default workspace."""

    default_workspace_id: int | None = None


class TogglProject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    name: str = ""
    workspace_id: int | None = None
    active: bool = True


class TimeEntryPage(NamedTuple):
    """One report page: kept entries, the cursor of the page after it, what was dropped."""

    entries: list[TimeEntry]
    next_cursor: PageCursor | None
    stats: FetchStatistics


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
        self._base_url = settings.base_url.rstrip("/")
        self._lock = asyncio.Lock()
        self._me: TogglMe | None = None
        self._users: dict[int, list[TogglUser]] = {}
        self._projects: dict[int, list[TogglProject]] = {}

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
        """Users of the workspace (cached per workspace); entries without an id are skipped."""
        wid = workspace_id if workspace_id is not None else await self.workspace_id()
        async with self._lock:
            if wid not in self._users:
                data = await self._get(f"/api/v9/workspaces/{wid}/users", "workspace_users")
                rows = _list_of_dicts(data, "workspace users")
                self._users[wid] = [user for row in rows if (user := _user(row)) is not None]
            return list(self._users[wid])

    async def projects(self, workspace_id: int | None = None) -> list[TogglProject]:
        """Projects of the workspace (cached per workspace)."""
        wid = workspace_id if workspace_id is not None else await self.workspace_id()
        async with self._lock:
            if wid not in self._projects:
                data = await self._get(f"/api/v9/workspaces/{wid}/projects", "projects")
                self._projects[wid] = [
                    TogglProject(
                        id=pid,
                        name=row.get("name") if isinstance(row.get("name"), str) else "",
                        workspace_id=as_int(row.get("workspace_id")),
                        active=row.get("active") is not False,
                    )
                    for row in _list_of_dicts(data, "projects")
                    if (pid := as_int(row.get("id"))) is not None
                ]
            return list(self._projects[wid])

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
        return [by_email[email] for email in wanted]

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
        url = f"{self._base_url}/reports/api/v3/workspace/{wid}/search/time_entries"
        seen: set[int] = set()
        while (current := paginator.current) is not None:
            window_start, window_end = windows[current.window_index]
            body: dict[str, Any] = {
                "start_date": window_start.isoformat(),
                "end_date": window_end.isoformat(),
                "page_size": self._settings.page_size,
                "grouped": self._settings.grouped,
                "order_by": "date",
                "order_dir": "asc",
                **current.body_fields(),
            }
            if user_ids:
                body["user_ids"] = user_ids
            response = await self._requester.request_json(
                "POST", url, endpoint="time_entries", json_body=body
            )
            if not isinstance(response.data, list):
                raise ResponseFormatError(TOGGL, "the detailed report is not a JSON list of rows")
            entries, stats = flatten_rows(response.data, seen)
            next_cursor = paginator.advance(response.headers)
            logger.debug(
                "Toggl report page: %d rows kept of %d",
                stats.entries_kept,
                stats.rows_received,
                extra={"source": TOGGL, "window": current.window_index},
            )
            yield TimeEntryPage(entries, next_cursor, stats)

    async def _get(self, path: str, endpoint: str) -> Any:
        response = await self._requester.request_json(
            "GET", f"{self._base_url}{path}", endpoint=endpoint
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
    user_id = as_int(row.get("id"))
    if user_id is None:
        return None
    email, name, tz = row.get("email"), row.get("fullname"), row.get("timezone")
    return TogglUser(
        id=user_id,
        email=email if isinstance(email, str) else None,
        name=name if isinstance(name, str) else "",
        timezone=tz if isinstance(tz, str) else None,
    )


def _list_of_dicts(data: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise ResponseFormatError(TOGGL, f"{what}: expected a JSON list")
    return [row for row in data if isinstance(row, dict)]
