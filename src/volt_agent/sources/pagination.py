"""Cursor pagination of the Toggl detailed report as a small state machine.

A fetch covers ``[start_date, end_date]`` split into consecutive windows of at most
``max_range_days`` days (one window unless the range is longer). Inside a window, each
page's ``X-Next-ID`` / ``X-Next-Row-Number`` / ``X-Next-Timestamp`` headers are the cursor
of the next page; a page without them ends the window. ``PageCursor`` names the next page
to request across the whole fetch, so a retried fetch resumes exactly where it stopped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, Field

from volt_agent.errors import ResponseFormatError, UserInputError

NEXT_ID_HEADER = "X-Next-ID"
NEXT_ROW_NUMBER_HEADER = "X-Next-Row-Number"
NEXT_TIMESTAMP_HEADER = "X-Next-Timestamp"
IS_FINAL_HEADER = "X-Is-Final"

_CURSOR_HEADERS = {
    "first_id": NEXT_ID_HEADER,
    "first_row_number": NEXT_ROW_NUMBER_HEADER,
    "first_timestamp": NEXT_TIMESTAMP_HEADER,
}


class PageCursor(BaseModel):
    """The next page to fetch: a window of the range and Toggl's cursor inside it.

    ``first_*`` are ``None`` at the start of a window. JSON-serialisable
    (``model_dump(mode="json")`` / ``model_validate``), frozen and hashable.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_index: int = Field(0, ge=0)
    first_id: int | None = None
    first_row_number: int | None = None
    first_timestamp: int | None = None

    def body_fields(self) -> dict[str, int]:
        """The ``first_*`` fields to add to the report request body."""
        return {
            name: value for name in _CURSOR_HEADERS if (value := getattr(self, name)) is not None
        }


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
    """Walks the pages of one fetch: consumes each answer's headers, yields the next cursor.

    Raises ``ResponseFormatError`` when a cursor header is not an integer or when the API
    hands back a cursor it already gave (a loop that would never end).
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
        self._seen: set[PageCursor] = {start}

    def advance(self, headers: Mapping[str, str]) -> PageCursor | None:
        """Consume the headers of the page fetched at ``current``; return the next cursor.

        ``None`` means the fetch is complete.
        """
        current = self.current
        if current is None:
            raise RuntimeError("advance() called after the last page")
        fields = self._cursor_fields(headers)
        final = headers.get(IS_FINAL_HEADER, "").strip().lower() == "true"
        if fields and not final:
            following: PageCursor | None = PageCursor(window_index=current.window_index, **fields)
        elif current.window_index + 1 < self._window_count:
            following = PageCursor(window_index=current.window_index + 1)
        else:
            following = None
        if following is not None:
            if following in self._seen:
                raise ResponseFormatError(
                    self._source,
                    "pagination loop: the report API returned a cursor it had already"
                    f" returned ({following.model_dump_json()})",
                )
            self._seen.add(following)
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
