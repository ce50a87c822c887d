"""Requests of the Toggl detailed report: one page with page-size negotiation, one totals call.

Toggl documents no maximum ``page_size`` (public code sends 50, 200 and 1000) and its
answers carry ``X-Page-Size``, the size it used. A server that clamps answers fewer rows and
says so; one that refuses answers 400 naming ``page_size``: the page is then asked again
with the next smaller of ``PAGE_SIZE_STEPS`` (one extra request per step) and the size that
worked is kept for the rest of the fetch.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from volt_agent.errors import BadRequestError, ResponseFormatError
from volt_agent.sources.http import ApiRequester, JsonResponse
from volt_agent.sources.pagination import PAGE_SIZE_HEADER, HeaderPaginator, smaller_page_size
from volt_agent.sources.parsing import as_int

logger = logging.getLogger(__name__)

REPORT_PATH = "/reports/api/v3/workspace/{workspace_id}/search/time_entries"
TOTALS_PATH = REPORT_PATH + "/totals"


async def request_page(
    requester: ApiRequester,
    url: str,
    filters: Mapping[str, Any],
    paginator: HeaderPaginator,
    default_size: int,
) -> tuple[JsonResponse, int]:
    """The page at ``paginator.current`` and the page size the server granted.

    ``filters`` is the body without page fields. A 400 naming ``page_size`` steps the size
    down and asks again; the paginator keeps the size granted (``X-Page-Size`` when smaller
    than asked) for the pages after this one.
    """
    while (current := paginator.current) is not None:
        size = current.page_size or default_size
        body = {**filters, "page_size": size, **current.body_fields()}
        try:
            response = await requester.request_json(
                "POST", url, endpoint="time_entries", json_body=body
            )
        except BadRequestError as error:
            smaller = smaller_page_size(size)
            if error.status_code != 400 or "page_size" not in str(error) or smaller is None:
                raise
            logger.warning(
                "Toggl refused page_size %d; asking again with %d",
                size,
                smaller,
                extra={"source": requester.source},
            )
            paginator.use_page_size(smaller)
            continue
        if not isinstance(response.data, list):
            raise ResponseFormatError(
                requester.source, "the detailed report is not a JSON list of rows"
            )
        granted = _header_int(response.headers.get(PAGE_SIZE_HEADER))
        if granted is not None and 0 < granted < size:
            paginator.use_page_size(granted)
            size = granted
        return response, size
    raise RuntimeError("request_page() called after the last page")


def _header_int(value: str | None) -> int | None:
    try:
        return None if value is None else int(value.strip())
    except ValueError:
        return None


def first_entry_ids(rows: list[Any]) -> list[int] | None:
    """Entry ids of the first row that has any (``X-Next-ID`` names the first of them)."""
    for row in rows:
        items = row.get("time_entries") if isinstance(row, dict) else None
        if not isinstance(items, list):
            continue
        ids = [
            entry_id
            for item in items
            if isinstance(item, dict) and (entry_id := as_int(item.get("id"))) is not None
        ]
        if ids:
            return ids
    return None


def totals_seconds(data: Any, source: str) -> tuple[int, int | None]:
    """``seconds`` and ``tracked_days`` of a ``totals.ReportData`` answer."""
    seconds = as_int(data.get("seconds")) if isinstance(data, dict) else None
    if seconds is None:
        raise ResponseFormatError(source, "the report totals have no integer 'seconds'")
    return seconds, as_int(data.get("tracked_days"))
