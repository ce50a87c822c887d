"""The detailed report of the Toggl simulator: search and totals (parsing, filtering, paging).

Filtering: an entry belongs to ``[start_date, end_date]`` by the local date of its start,
in its creator's time zone (``date_filter_zone="creator"``; Pipedream: "Toggl still
evaluates the dates in each time entry creator's profile timezone") or in the token user's
(``"token_user"``; Toggl's overview: data is "set into the appropriate timezone according to
the setting in user profile").

Rendering: ``start``/``stop`` carry the token user's UTC offset valid at that instant,
``at`` is UTC and ``at_tz`` the same instant in the token user's offset (the row captured
in evrone/toggl-python ``tests/responses/report_time_entry_post.py``).

Paging: the report's rows (one per entry, or one per group with ``grouped``) are ordered by
``order_by``/``order_dir`` and numbered from 1. A page holds ``page_size`` rows (default 50;
above the cap clamped or refused); the row after it is the next page's cursor (``X-Next-ID``
its first entry, ``X-Next-Row-Number`` its number, ``X-Next-Timestamp`` that entry's start
in Unix seconds). ``cursor_mode`` decides how a follow-up resumes:

- ``row_number``: by ``first_row_number`` alone; ``first_id``/``first_timestamp`` ignored;
- ``id_and_row_number``: by ``first_id`` (the row holding that entry); a request without
  ``first_id`` is answered as the first page;
- ``id_row_number_bug``: ``first_id`` together with ``first_row_number`` answers no rows
  and no cursor (the live bug a public Go client records); either one alone resumes.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from volt_agent.sandbox.records import TimeEntryRecord, TogglUserRecord
from volt_agent.sandbox.workspace import TIMEZONES

CursorMode = Literal["row_number", "id_and_row_number", "id_row_number_bug"]
PageSizeMode = Literal["clamp", "reject"]
DateFilterZone = Literal["creator", "token_user"]
CURSOR_MODES: tuple[CursorMode, ...] = ("row_number", "id_and_row_number", "id_row_number_bug")
PAGE_SIZE_MODES: tuple[PageSizeMode, ...] = ("clamp", "reject")
DATE_FILTER_ZONES: tuple[DateFilterZone, ...] = ("creator", "token_user")
ORDER_BY = ("date", "user", "duration", "description", "last_update")
ORDER_DIR = ("ASC", "DESC")
DEFAULT_PAGE_SIZE = 50

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAY_MARGIN = timedelta(hours=14)
"""The widest UTC offset: every local day lies within this margin of the same UTC day."""
_CACHED_REPORTS = 16


class SearchError(ValueError):
    """The request body is invalid; the message is the 400 answer's text."""


@dataclass(frozen=True, slots=True)
class ReportFilter:
    start_date: date
    end_date: date
    user_ids: frozenset[int] | None = None
    project_ids: frozenset[int | None] | None = None


@dataclass(frozen=True, slots=True)
class SearchQuery:
    filter: ReportFilter
    page_size: int = DEFAULT_PAGE_SIZE
    """The page size granted (the request's, or the cap when clamped)."""
    first_id: int | None = None
    first_row_number: int | None = None
    first_timestamp: int | None = None
    grouped: bool = False
    order_by: str = "date"
    descending: bool = False


@dataclass(frozen=True, slots=True)
class SearchPage:
    rows: list[dict[str, Any]]
    next_entry: TimeEntryRecord | None
    next_row_number: int | None
    first_row_number: int
    """Number of the page's first row; 1 for a first page."""


def _body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        raise SearchError("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise SearchError("request body must be a JSON object")
    return body


def _date(body: Mapping[str, Any], name: str) -> date:
    value = body.get(name)
    if value is None:
        raise SearchError(f"{name} is required")
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise SearchError(f"{name} must be a date in the format YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SearchError(f"{name} is not a valid date: {value}") from None


def _optional_int(body: Mapping[str, Any], name: str, minimum: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SearchError(f"{name} must be an integer >= {minimum}")
    return value


def _id_set(body: Mapping[str, Any], name: str, *, allow_null: bool) -> frozenset[Any] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        (isinstance(v, int) and not isinstance(v, bool)) or (allow_null and v is None)
        for v in value
    ):
        raise SearchError(f"{name} must be a list of integer ids")
    return frozenset(value)


def _choice(body: Mapping[str, Any], name: str, allowed: Sequence[str]) -> str:
    value = body.get(name) or allowed[0]
    if value not in allowed:
        listed = ", ".join(f"'{v}'" for v in allowed)
        raise SearchError(f"Invalid '{name}' value, allowed values are: {listed}")
    return str(value)


def _flag(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise SearchError(f"{name} must be a boolean")
    return value is True


def _filter(body: Mapping[str, Any], max_range_days: int) -> ReportFilter:
    start, end = _date(body, "start_date"), _date(body, "end_date")
    if end < start:
        raise SearchError("end_date must not be earlier than start_date")
    if (end - start).days + 1 > max_range_days:
        raise SearchError(f"the date range must not be longer than {max_range_days} days")
    return ReportFilter(
        start_date=start,
        end_date=end,
        user_ids=_id_set(body, "user_ids", allow_null=False),
        project_ids=_id_set(body, "project_ids", allow_null=True),
    )


def parse_search(
    raw: bytes, *, max_page_size: int, page_size_mode: PageSizeMode, max_range_days: int
) -> SearchQuery:
    """Validate a search body the way the API does; raise ``SearchError`` with the reason."""
    body = _body(raw)
    report_filter = _filter(body, max_range_days)
    page_size = _optional_int(body, "page_size", 1) or DEFAULT_PAGE_SIZE
    if page_size > max_page_size:
        if page_size_mode == "reject":
            raise SearchError(
                f"Invalid 'page_size' value {page_size}, allowed values are: 1 to {max_page_size}"
            )
        page_size = max_page_size
    grouped = _flag(body, "grouped")
    order_by = _choice(body, "order_by", ORDER_BY)
    descending = _choice(body, "order_dir", ORDER_DIR) == "DESC"
    return SearchQuery(
        filter=report_filter,
        page_size=page_size,
        first_id=_optional_int(body, "first_id", 0),
        first_row_number=_optional_int(body, "first_row_number", 1),
        first_timestamp=_optional_int(body, "first_timestamp", 0),
        grouped=grouped,
        order_by=order_by,
        descending=descending,
    )


def parse_totals(raw: bytes, *, max_range_days: int) -> ReportFilter:
    """The filters of a totals body (``totals.ReportPost``: no paging or order fields)."""
    body = _body(raw)
    _flag(body, "grouped")
    _flag(body, "with_graph")
    return _filter(body, max_range_days)


def range_headers(report_filter: ReportFilter) -> dict[str, str]:
    """``X-Range-Start``/``X-Range-End``: the dates used, as ``YYYY-MM-DD`` (toggl_rb spec)."""
    return {
        "X-Range-Start": report_filter.start_date.isoformat(),
        "X-Range-End": report_filter.end_date.isoformat(),
    }


def zone_named(name: str) -> tzinfo:
    """The IANA zone ``name``; without tz data, the fixed offset ``TIMEZONES`` lists (or UTC)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        minutes = next((m for zone, m, _ in TIMEZONES if zone == name), 0)
        return timezone(timedelta(minutes=minutes), name)


@dataclass(frozen=True, slots=True)
class _Report:
    rows: list[list[TimeEntryRecord]]
    position: dict[int, int]
    """Entry id → index of the row holding it."""


SortKey = Callable[[TimeEntryRecord], tuple[Any, ...]]


class EntryIndex:
    """The workspace's entries, filtered, ordered and rendered like the detailed report.

    Read-only after build except for a small cache of ordered reports, so consecutive pages
    of one report cost only their own rows.
    """

    def __init__(
        self,
        entries: Sequence[TimeEntryRecord],
        users: Sequence[TogglUserRecord],
        token_user: TogglUserRecord,
        date_filter_zone: DateFilterZone = "creator",
    ) -> None:
        self.zone = zone_named(token_user.timezone)
        zones = {user.id: zone_named(user.timezone) for user in users}
        self.user_names = {user.id: user.fullname for user in users}
        self.entries = sorted(entries, key=lambda e: (e.start, e.id))
        self.starts = [e.start for e in self.entries]
        self.local_days = [
            e.start.astimezone(
                zones.get(e.user_id, UTC) if date_filter_zone == "creator" else self.zone
            ).date()
            for e in self.entries
        ]
        self._reports: OrderedDict[tuple[Any, ...], _Report] = OrderedDict()

    def _matching(self, report_filter: ReportFilter) -> list[int]:
        """Positions in ``self.entries`` of the entries the filter selects."""
        first, last = report_filter.start_date, report_filter.end_date
        low = bisect_left(self.starts, datetime.combine(first, time(0), UTC) - _DAY_MARGIN)
        high = bisect_left(
            self.starts, datetime.combine(last + timedelta(days=1), time(0), UTC) + _DAY_MARGIN
        )
        users, projects = report_filter.user_ids, report_filter.project_ids
        return [
            i
            for i in range(low, high)
            if first <= self.local_days[i] <= last
            and (users is None or self.entries[i].user_id in users)
            and (projects is None or self.entries[i].project_id in projects)
        ]

    def _sort_key(self, order_by: str) -> SortKey:
        keys: dict[str, SortKey] = {
            "date": lambda e: (e.start, e.id),
            "user": lambda e: (self.user_names.get(e.user_id, "").lower(), e.start, e.id),
            "duration": lambda e: (e.seconds, e.start, e.id),
            "description": lambda e: (e.description.lower(), e.start, e.id),
            "last_update": lambda e: (e.at, e.id),
        }
        return keys[order_by]

    def _report(self, query: SearchQuery) -> _Report:
        key = (query.filter, query.grouped, query.order_by, query.descending)
        if (cached := self._reports.get(key)) is not None:
            self._reports.move_to_end(key)
            return cached
        entries = sorted(
            (self.entries[i] for i in self._matching(query.filter)),
            key=self._sort_key(query.order_by),
            reverse=query.descending,
        )
        rows = _groups(entries) if query.grouped else [[entry] for entry in entries]
        position = {entry.id: index for index, row in enumerate(rows) for entry in row}
        report = self._reports[key] = _Report(rows, position)
        if len(self._reports) > _CACHED_REPORTS:
            self._reports.popitem(last=False)
        return report

    def search(self, query: SearchQuery, cursor_mode: CursorMode) -> SearchPage:
        """One page of ``query``; raises ``SearchError`` for a ``first_id`` naming no entry."""
        report = self._report(query)
        start = _resume_at(query, report, cursor_mode)
        if start is None:
            return SearchPage([], None, None, query.first_row_number or 1)
        window = report.rows[start : start + query.page_size]
        rows = [self._row(row, start + 1 + i) for i, row in enumerate(window)]
        following = start + query.page_size
        if following < len(report.rows):
            return SearchPage(rows, report.rows[following][0], following + 1, start + 1)
        return SearchPage(rows, None, None, start + 1)

    def totals(self, report_filter: ReportFilter) -> dict[str, Any]:
        """``totals.ReportData`` of the filter (no rates in the sandbox, so no amounts)."""
        positions = self._matching(report_filter)
        entries = [self.entries[i] for i in positions]
        billable = sum(e.seconds for e in entries if e.billable)
        rates = [{"billable_seconds": billable, "currency": "USD", "hourly_rate_in_cents": 0}]
        return {
            "seconds": sum(e.seconds for e in entries),
            "tracked_days": len({self.local_days[i] for i in positions}),
            "resolution": _resolution(report_filter),
            "billable_amount_in_cents": 0,
            "labour_cost_in_cents": 0,
            "rates": rates if billable else [],
            "graph": [],
        }

    def row(self, entry: TimeEntryRecord, row_number: int) -> dict[str, Any]:
        """The ungrouped report row of one entry."""
        return self._row([entry], row_number)

    def _row(self, entries: list[TimeEntryRecord], row_number: int) -> dict[str, Any]:
        head = entries[0]
        return {
            "user_id": head.user_id,
            "username": self.user_names.get(head.user_id, ""),
            "project_id": head.project_id,
            "task_id": head.task_id,
            "description": head.description,
            "billable": head.billable,
            "tag_ids": list(head.tag_ids),
            "billable_amount_in_cents": None,
            "currency": "USD",
            "hourly_rate_in_cents": None,
            "time_entries": [self._entry(e) for e in entries],
            "row_number": row_number,
        }

    def _entry(self, entry: TimeEntryRecord) -> dict[str, Any]:
        zone = self.zone
        return {
            "id": entry.id,
            "seconds": entry.seconds,
            "start": entry.start.astimezone(zone).isoformat(),
            "stop": entry.stop.astimezone(zone).isoformat(),
            "at": entry.at.astimezone(UTC).isoformat(),
            "at_tz": entry.at.astimezone(zone).isoformat(),
        }


def _resume_at(query: SearchQuery, report: _Report, mode: CursorMode) -> int | None:
    """Index of the page's first row under ``mode``; ``None`` for the live bug's empty page."""
    by_id, by_number = query.first_id, query.first_row_number
    if mode == "row_number":
        return 0 if by_number is None else by_number - 1
    if mode == "id_row_number_bug" and by_id is not None and by_number is not None:
        return None
    if by_id is not None:
        position = report.position.get(by_id)
        if position is None:
            raise SearchError(f"first_id {by_id} is not a time entry of this report")
        return position
    if mode == "id_and_row_number" or by_number is None:
        return 0
    return by_number - 1


def _groups(entries: list[TimeEntryRecord]) -> list[list[TimeEntryRecord]]:
    """Entries sharing user, description, project, task, billable flag and tags, in order of
    their first entry (grouping rules are undocumented; this is the sandbox's reading)."""
    groups: dict[tuple[Any, ...], list[TimeEntryRecord]] = {}
    for entry in entries:
        key = (
            entry.user_id,
            entry.description,
            entry.project_id,
            entry.task_id,
            entry.billable,
            entry.tag_ids,
        )
        groups.setdefault(key, []).append(entry)
    return list(groups.values())


def _resolution(report_filter: ReportFilter) -> str:
    days = (report_filter.end_date - report_filter.start_date).days + 1
    return "day" if days <= 31 else "week" if days <= 183 else "month"
