"""The strongest public Toggl fetcher's strategy, as a small driver over the same simulators.

The API research (/work/shared/research/peer-survey.md §2, "best reference implementation";
API_NOTES source T-pd) names Pipedream's *Search Detailed Time Entries* action
(``PipedreamHQ/pipedream`` @181fd212, ``components/toggl/actions/search-detailed-time-entries/
search-detailed-time-entries.mjs`` and ``components/toggl/common/utils.mjs``). What it sends:

- one Reports v3 ``search/time_entries`` walk over the whole range, ``page_size`` 50 (its
  prop's maximum and default), ``grouped: false``, ``order_by: date``, ``order_dir: ASC``,
  the cursor sent back as ``first_id`` + ``first_row_number``;
- ``REQUEST_INTERVAL_MS`` = 1000: one second of waiting after each page before the next,
  and one more before the totals request (no other client-side rate limit);
- ``search/time_entries/totals`` for the same filters once per invocation, after the pages;
- at most ``maxResults`` rows per invocation (10,000 at most): a longer report is continued
  by a new invocation from ``nextCursor``, which again ends with its own totals request;
- no ``/me`` (only for a date preset) and no users list (only for a user-name filter).

It fetches Toggl only: it has no Fibery side, so it is compared with volt-agent's Toggl
requests and fetch time. Modelled in the peer's favour: every invocation uses the largest
``maxResults`` and follows on at once. ``estimate_peer`` counts the same requests without
sending them (for ``org``); its time is a lower bound: the pauses plus the least simulated
latency per request.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date
from typing import Any

import httpx

from volt_agent.sandbox import Simulators, TimeEntryRecord

PAGE_SIZE = 50
PAUSE_SECONDS = 1.0
MAX_RESULTS = 10_000
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class PeerResult:
    """What the peer strategy cost on one workload (Toggl only)."""

    mode: str
    """``run`` (replayed against the simulators) or ``estimate`` (counted, not sent)."""
    toggl_requests: int
    pages: int
    totals_requests: int
    rows: int
    wall_seconds: float
    rate_limited: int = 0

    @property
    def requests(self) -> int:
        return self.toggl_requests

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "requests": self.requests, "fibery_requests": 0}


def peer_counts(rows: int) -> tuple[int, int]:
    """Pages and totals requests the peer needs for a report of ``rows`` rows.

    Each invocation reads at most ``MAX_RESULTS`` rows in pages of ``PAGE_SIZE`` (an empty
    report still costs its one page) and ends with one totals request.
    """
    invocations = max(1, math.ceil(rows / MAX_RESULTS))
    pages = 0
    for invocation in range(invocations):
        share = min(MAX_RESULTS, rows - invocation * MAX_RESULTS)
        pages += max(1, math.ceil(share / PAGE_SIZE))
    return pages, invocations


def peer_lower_bound_seconds(pages: int, totals: int, least_latency: float) -> float:
    """The least time the peer's own pauses and the latency allow: a pause after every page
    but an invocation's last and one before each totals request (``pages`` pauses in all),
    and every request's latency."""
    return pages * PAUSE_SECONDS + (pages + totals) * least_latency


class _Sender:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self.rate_limited = 0

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        for _ in range(MAX_ATTEMPTS):
            response = await self._client.post(url, **kwargs)
            if response.status_code != 429:
                response.raise_for_status()
                return response
            self.rate_limited += 1
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
        raise RuntimeError(f"{url}: still rate limited after {MAX_ATTEMPTS} attempts")


async def run_peer(
    sims: Simulators, start: date, end: date, *, pause: float = PAUSE_SECONDS
) -> PeerResult:
    """Replay the peer strategy against ``sims`` (``pause``: the peer's one second, shorter
    only in tests); counts come from the simulators."""
    sims.toggl.reset_stats()
    began = time.monotonic()
    search = (
        f"{sims.toggl.base_url}/reports/api/v3/workspace/{sims.workspace_id}/search/time_entries"
    )
    filters = {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "rounding": 0,
        "rounding_minutes": 0,
    }
    auth = httpx.BasicAuth(sims.toggl.token, "api_token")
    rows = pages = totals = 0
    async with httpx.AsyncClient(timeout=60, auth=auth) as client:
        sender = _Sender(client)
        cursor: dict[str, int] = {}
        while True:
            read = 0
            while True:
                body = {
                    **filters,
                    "order_by": "date",
                    "order_dir": "ASC",
                    "enrich_response": True,
                    "grouped": False,
                    "page_size": min(PAGE_SIZE, MAX_RESULTS - read),
                    **cursor,
                }
                response = await sender.post(search, json=body)
                pages += 1
                read += len(response.json())
                cursor = _next_cursor(response.headers)
                if not cursor or read >= MAX_RESULTS:
                    break
                await asyncio.sleep(pause)
            rows += read
            await asyncio.sleep(pause)
            await sender.post(f"{search}/totals", json=filters)
            totals += 1
            if not cursor:
                break
    stats = sims.toggl.stats()
    return PeerResult(
        mode="run",
        toggl_requests=stats["requests"],
        pages=pages,
        totals_requests=totals,
        rows=rows,
        wall_seconds=round(time.monotonic() - began, 1),
        rate_limited=stats["rate_limited"],
    )


def _next_cursor(headers: httpx.Headers) -> dict[str, int]:
    """``first_id`` (when sent) and ``first_row_number`` of the next page; ``{}``: none."""
    row_number = headers.get("X-Next-Row-Number")
    if not row_number:
        return {}
    cursor = {"first_row_number": int(row_number)}
    if first_id := headers.get("X-Next-ID"):
        cursor["first_id"] = int(first_id)
    return cursor


def estimate_peer(
    entries: Iterable[TimeEntryRecord], start: date, end: date, least_latency: float
) -> PeerResult:
    """The peer's requests on a workload without sending them: one row per entry whose start
    (UTC) is in the range, ``peer_counts`` of them, and ``peer_lower_bound_seconds``."""
    rows = sum(1 for e in entries if start <= e.start.astimezone(UTC).date() <= end)
    pages, totals = peer_counts(rows)
    return PeerResult(
        mode="estimate",
        toggl_requests=pages + totals,
        pages=pages,
        totals_requests=totals,
        rows=rows,
        wall_seconds=round(peer_lower_bound_seconds(pages, totals, least_latency), 1),
    )
