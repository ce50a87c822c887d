"""The detailed-report search of the Toggl simulator: request parsing and cursor paging.

Entries are kept sorted by ``(start, id)``. A page ends where ``page_size`` rows are filled;
the next page's cursor is the following row: ``first_id`` / ``first_timestamp`` (its start in
Unix seconds) locate it by key, ``first_row_number`` numbers it. A request with
``first_id`` resumes by key (``first_timestamp`` is then optional), one with only
``first_row_number`` resumes by offset. Grouped rows are paged by offset only.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from volt_agent.sandbox.records import TimeEntryRecord

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DEFAULT_PAGE_SIZE = 50


class SearchError(ValueError):
    """The request body is invalid; the message is the 400 answer's text."""


@dataclass(frozen=True, slots=True)
class SearchQuery:
    start_date: date
    end_date: date
    user_ids: frozenset[int] | None = None
    project_ids: frozenset[int | None] | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    first_id: int | None = None
    first_row_number: int | None = None
    first_timestamp: int | None = None
    grouped: bool = False
    descending: bool = False


@dataclass(frozen=True, slots=True)
class SearchPage:
    rows: list[dict[str, Any]]
    next_entry: TimeEntryRecord | None
    next_row_number: int | None


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


def _id_list(body: Mapping[str, Any], name: str, *, allow_null: bool) -> list[Any] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        (isinstance(v, int) and not isinstance(v, bool)) or (allow_null and v is None)
        for v in value
    ):
        raise SearchError(f"{name} must be a list of integer ids")
    return value


def parse_search(raw: bytes, *, max_page_size: int, max_range_days: int) -> SearchQuery:
    """Validate a search body the way the API does; raise ``SearchError`` with the reason."""
    try:
        body = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        raise SearchError("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise SearchError("request body must be a JSON object")
    start, end = _date(body, "start_date"), _date(body, "end_date")
    if end < start:
        raise SearchError("end_date must not be earlier than start_date")
    if (end - start).days + 1 > max_range_days:
        raise SearchError(f"the date range must not be longer than {max_range_days} days")
    page_size = _optional_int(body, "page_size", 1) or DEFAULT_PAGE_SIZE
    if page_size > max_page_size:
        raise SearchError(f"page_size must not be greater than {max_page_size}")
    grouped = body.get("grouped", False)
    if grouped is None:
        grouped = False
    if not isinstance(grouped, bool):
        raise SearchError("grouped must be a boolean")
    order_by = body.get("order_by") or "date"
    if order_by != "date":
        raise SearchError("the sandbox supports order_by 'date' only")
    order_dir = body.get("order_dir") or "asc"
    if not isinstance(order_dir, str) or order_dir.lower() not in ("asc", "desc"):
        raise SearchError("order_dir must be 'asc' or 'desc'")
    user_ids = _id_list(body, "user_ids", allow_null=False)
    project_ids = _id_list(body, "project_ids", allow_null=True)
    return SearchQuery(
        start_date=start,
        end_date=end,
        user_ids=None if user_ids is None else frozenset(user_ids),
        project_ids=None if project_ids is None else frozenset(project_ids),
        page_size=page_size,
        first_id=_optional_int(body, "first_id", 0),
        first_row_number=_optional_int(body, "first_row_number", 1),
        first_timestamp=_optional_int(body, "first_timestamp", 0),
        grouped=grouped,
        descending=order_dir.lower() == "desc",
    )


def _day_start(day: date) -> int:
    return int(datetime.combine(day, time(0), tzinfo=UTC).timestamp())


class EntryIndex:
    """Time entries sorted by ``(start, id)`` with row rendering; read-only after build."""

    def __init__(self, entries: list[TimeEntryRecord], user_names: Mapping[int, str]) -> None:
        self.entries = sorted(entries, key=lambda e: (e.start, e.id))
        self.keys = [(int(e.start.timestamp()), e.id) for e in self.entries]
        self.start_by_id = {e.id: key[0] for e, key in zip(self.entries, self.keys, strict=True)}
        self.user_names = dict(user_names)

    def search(self, query: SearchQuery) -> SearchPage:
        """One page of ``query``; raises ``SearchError`` for a cursor naming no entry."""
        keyset = self._keyset(query)
        matching = self._scan(query, keyset)
        resume_by_offset = keyset is None and query.first_row_number is not None
        skip = query.first_row_number - 1 if resume_by_offset and query.first_row_number else 0
        first_number = query.first_row_number or 1
        if query.grouped:
            groups = self._groups(matching)
            window = groups[skip : skip + query.page_size + 1]
            rows = [self._row(group, first_number + i) for i, group in enumerate(window)]
            following = window[query.page_size][0] if len(window) > query.page_size else None
        else:
            for _ in range(skip):
                if next(matching, None) is None:
                    break
            page: list[TimeEntryRecord] = []
            for entry in matching:
                page.append(entry)
                if len(page) > query.page_size:
                    break
            rows = [self._row([e], first_number + i) for i, e in enumerate(page)]
            following = page[query.page_size] if len(page) > query.page_size else None
        rows = rows[: query.page_size]
        next_number = first_number + len(rows) if following is not None else None
        return SearchPage(rows, following, next_number)

    def _keyset(self, query: SearchQuery) -> tuple[int, int] | None:
        if query.grouped or query.first_id is None:
            return None
        if query.first_timestamp is not None:
            return (query.first_timestamp, query.first_id)
        timestamp = self.start_by_id.get(query.first_id)
        if timestamp is None:
            raise SearchError(f"first_id {query.first_id} is not a time entry of this report")
        return (timestamp, query.first_id)

    def _scan(
        self, query: SearchQuery, keyset: tuple[int, int] | None
    ) -> Iterator[TimeEntryRecord]:
        low = bisect_left(self.keys, (_day_start(query.start_date), -1))
        high = bisect_left(self.keys, (_day_start(query.end_date + timedelta(days=1)), -1))
        if query.descending:
            top = high if keyset is None else min(high, bisect_right(self.keys, keyset))
            positions: range = range(top - 1, low - 1, -1)
        else:
            bottom = low if keyset is None else max(low, bisect_left(self.keys, keyset))
            positions = range(bottom, high)
        users, projects = query.user_ids, query.project_ids
        for position in positions:
            entry = self.entries[position]
            if users is not None and entry.user_id not in users:
                continue
            if projects is not None and entry.project_id not in projects:
                continue
            yield entry

    @staticmethod
    def _groups(entries: Iterator[TimeEntryRecord]) -> list[list[TimeEntryRecord]]:
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
            "time_entries": [
                {
                    "id": e.id,
                    "seconds": e.seconds,
                    "start": e.start.isoformat(),
                    "stop": e.stop.isoformat(),
                    "at": e.at.isoformat(),
                }
                for e in entries
            ],
            "row_number": row_number,
        }
