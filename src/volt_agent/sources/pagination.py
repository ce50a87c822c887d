"""Cursor pagination of the Toggl detailed report as a small state machine.

A fetch covers ``[start_date, end_date]`` split into consecutive windows of at most
``max_range_days`` days (one window unless the range is longer). Inside a window each
page's ``X-Next-ID`` / ``X-Next-Row-Number`` / ``X-Next-Timestamp`` headers are the cursor
of the next page; a page without them ends the window (Toggl sends them only "if has next
page").

How a cursor is sent back is undocumented and public evidence conflicts: one live report
says ``first_id`` with ``first_row_number`` returns an empty page, other clients send
``first_id``. So a follow-up page is first asked with ``first_row_number`` alone and must
start with the entry ``X-Next-ID`` promised; if the server started over instead, the same
page is asked again with ``first_id`` + ``first_row_number`` + ``first_timestamp`` and that
form is kept for the rest of the fetch (``PageCursor.with_id``). A page that is empty, or
still starts elsewhere, after a cursor that promised more rows is a ``ResponseFormatError``:
a report that ends early is never taken for a complete one.

``PageCursor`` names the next page across the whole fetch (window, Toggl's cursor, the
cursor form and the page size the server granted), so a retried fetch resumes exactly where
it stopped and the way that worked.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, Field

from volt_agent.errors import ResponseFormatError, UserInputError

logger = logging.getLogger(__name__)

NEXT_ID_HEADER = "X-Next-ID"
NEXT_ROW_NUMBER_HEADER = "X-Next-Row-Number"
NEXT_TIMESTAMP_HEADER = "X-Next-Timestamp"
PAGE_SIZE_HEADER = "X-Page-Size"
PAGE_SIZE_STEPS = (1000, 200, 50)
"""Page sizes tried in turn when the report refuses one (public code uses these three)."""

_CURSOR_HEADERS = {
    "first_id": NEXT_ID_HEADER,
    "first_row_number": NEXT_ROW_NUMBER_HEADER,
    "first_timestamp": NEXT_TIMESTAMP_HEADER,
}

Position = tuple[int, int | None, int | None, int | None]


class PageCursor(BaseModel):
    """The next page to fetch: a window of the range, Toggl's cursor inside it, and how to ask.

    ``first_*`` are ``None`` at the start of a window. ``with_id`` sends ``first_id`` and
    ``first_timestamp`` along with ``first_row_number``; ``page_size`` is the size the
    server granted (``None``: the configured one). JSON-serialisable
    (``model_dump(mode="json")`` / ``model_validate``), frozen and hashable.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_index: int = Field(0, ge=0)
    first_id: int | None = None
    first_row_number: int | None = None
    first_timestamp: int | None = None
    with_id: bool = False
    page_size: int | None = Field(None, ge=1)

    @property
    def position(self) -> Position:
        """Where the page starts, whatever form it is asked in."""
        return (self.window_index, self.first_id, self.first_row_number, self.first_timestamp)

    @property
    def resumes(self) -> bool:
        """Whether this cursor continues a window (a previous page promised more rows)."""
        return self.first_id is not None or self.first_row_number is not None

    def body_fields(self) -> dict[str, int]:
        """The ``first_*`` fields to add to the report request body."""
        fields = {
            name: value for name in _CURSOR_HEADERS if (value := getattr(self, name)) is not None
        }
        if self.with_id or self.first_row_number is None:
            return fields
        return {"first_row_number": self.first_row_number}


def smaller_page_size(size: int) -> int | None:
    """The largest of ``PAGE_SIZE_STEPS`` below ``size``; ``None`` below the smallest."""
    return next((step for step in PAGE_SIZE_STEPS if step < size), None)


DateWindow = tuple[date, date]


def split_range(start_date: date, end_date: date, max_range_days: int) -> list[DateWindow]:
    """Consecutive inclusive windows covering the range, each at most ``max_range_days`` days.

    A range of up to ``max_range_days`` days is one window; longer ranges are cut only as
    often as needed, never day by day.
    """
    if end_date < start_date:
        raise UserInputError(
            f"end date {end_date.isoformat()} is before start date {start_date.isoformat()}"
        )
    if max_range_days < 1:
        raise ValueError("max_range_days must be at least 1")
    windows: list[DateWindow] = []
    window_start = start_date
    while window_start <= end_date:
        window_end = min(end_date, window_start + timedelta(days=max_range_days - 1))
        windows.append((window_start, window_end))
        window_start = window_end + timedelta(days=1)
    return windows


class HeaderPaginator:
    """Walks the pages of one fetch: checks each page against its cursor, yields the next one.

    For each page fetched at ``current``: ``check_page`` (is it the page asked for? ``False``
    means ask again, now with ``first_id``), then ``advance`` with the answer's headers.
    Raises ``ResponseFormatError`` for a wrong or empty page the cursor promised, a cursor
    header that is not an integer, and a cursor the API already gave (a loop).
    """

    def __init__(self, window_count: int, start: PageCursor | None, *, source: str) -> None:
        start = start or PageCursor()
        if start.window_index >= window_count:
            raise UserInputError(
                f"cannot resume: cursor window {start.window_index} is outside the"
                f" {window_count} window(s) of this date range"
            )
        self._window_count = window_count
        self._source = source
        self.current: PageCursor | None = start
        self._seen: set[Position] = {start.position}

    def _now(self) -> PageCursor:
        if self.current is None:
            raise RuntimeError("the fetch is complete: no page left")
        return self.current

    def use_page_size(self, size: int) -> None:
        """Ask the current page and every later one with ``size`` rows."""
        self.current = self._now().model_copy(update={"page_size": size})

    def check_page(self, first_ids: Sequence[int] | None, rows: int) -> bool:
        """Whether the page fetched at ``current`` is the page its cursor asked for.

        ``first_ids`` are the entry ids of the page's first readable row (``None``: no row
        could be read, so nothing to compare); ``rows`` counts the page's rows. ``False``
        means the server ignored ``first_row_number`` alone: ``current`` now sends
        ``first_id`` too, ask the same page again.
        """
        current = self._now()
        if not current.resumes:
            return True
        if rows == 0:
            problem = "came back empty"
        elif current.first_id is not None and first_ids and current.first_id not in first_ids:
            problem = f"starts with time entry {first_ids[0]} instead"
        else:
            return True
        if not current.with_id and current.first_id is not None:
            logger.info(
                "Toggl ignored first_row_number alone (the page %s); asking again with first_id",
                problem,
                extra={"source": self._source, "window": current.window_index},
            )
            self.current = current.model_copy(update={"with_id": True})
            return False
        sent = ", ".join(current.body_fields())
        raise ResponseFormatError(
            self._source,
            f"the detailed report promised more rows (row {current.first_row_number}, time"
            f" entry {current.first_id}) but the page asked with {sent} {problem}: the fetch"
            " would be incomplete",
        )

    def advance(self, headers: Mapping[str, str]) -> PageCursor | None:
        """Consume the headers of the page fetched at ``current``; return the next cursor.

        ``None`` means the fetch is complete.
        """
        current = self._now()
        fields = self._cursor_fields(headers)
        form = {"with_id": current.with_id, "page_size": current.page_size}
        following: PageCursor | None
        if fields:
            following = PageCursor(window_index=current.window_index, **fields, **form)
        elif current.window_index + 1 < self._window_count:
            following = PageCursor(window_index=current.window_index + 1, **form)
        else:
            following = None
        if following is not None:
            if following.position in self._seen:
                raise ResponseFormatError(
                    self._source,
                    "pagination loop: the report API returned a cursor it had already"
                    f" returned ({following.model_dump_json()})",
                )
            self._seen.add(following.position)
        self.current = following
        return following

    def _cursor_fields(self, headers: Mapping[str, str]) -> dict[str, int]:
        fields: dict[str, int] = {}
        for name, header in _CURSOR_HEADERS.items():
            raw = headers.get(header)
            if raw is None or not raw.strip():
                continue
            try:
                fields[name] = int(raw)
            except ValueError:
                raise ResponseFormatError(
                    self._source, f"pagination header {header} is not an integer: {raw[:40]!r}"
                ) from None
        return fields
