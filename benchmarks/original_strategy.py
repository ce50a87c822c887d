"""The original design's fetch strategy, as a small driver over the same simulators.

The tool volt-agent replaces fetched Toggl **day by day with 50-row pages** and sent **one
Fibery request per entity**. This module replays that strategy with plain ``httpx`` and the
same client-side limits as volt-agent (Toggl 1 request/s, Fibery 3 requests/s, waiting out
``Retry-After`` on 429), so its request count and wall time can be compared with a pipeline
run on the same workload.

Modelling choices, all in the original's favour:

- the Toggl workspace users are fetched once (the original's per-run lookups are not
  counted);
- one Fibery request per entity is one ``fibery.entity/query`` for that entity's public id.
  The original used one GraphQL request per entity that also returned the description; the
  simulator serves no GraphQL, so documents are not fetched at all here: the original's real
  count can only be higher;
- requests are sent one after another, as the original did.

``estimate`` gives the same counts without sending anything (for the ``org`` workload, where
the replay would take over an hour): Toggl pages from the number of entries per day, Fibery
requests from the entities the run referenced, and the time the rate limits alone need.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, timedelta
from typing import Any

import httpx

from volt_agent.config import ParsingSettings
from volt_agent.domain.aggregation import UNKNOWN_TYPE, aggregate, referenced_entities
from volt_agent.domain.models import TimeEntry, TogglUser
from volt_agent.domain.parsing import DescriptionParser
from volt_agent.sandbox import Simulators, TimeEntryRecord

PAGE_SIZE = 50
TOGGL_RATE = 1.0
FIBERY_RATE = 3.0
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class OriginalResult:
    """What the original strategy cost on one workload."""

    mode: str
    """``run`` (replayed against the simulators) or ``estimate`` (counted, not sent)."""
    toggl_requests: int
    fibery_requests: int
    entries: int
    entities: int
    wall_seconds: float
    """Measured for ``run``; for ``estimate`` the time the rate limits alone need."""
    rate_limited: int = 0

    @property
    def requests(self) -> int:
        return self.toggl_requests + self.fibery_requests

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "requests": self.requests}


class Pacer:
    """At most ``rate`` request starts per second, evenly spaced (the clients' leaky bucket)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        if self._next > now:
            await asyncio.sleep(self._next - now)
        self._next = max(now, self._next) + self._interval


class _Sender:
    def __init__(self, client: httpx.AsyncClient, rate: float) -> None:
        self._client = client
        self._pacer = Pacer(rate)
        self.sent = 0
        self.rate_limited = 0

    async def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        for _ in range(MAX_ATTEMPTS):
            await self._pacer.wait()
            self.sent += 1
            response = await self._client.request(method, url, **kwargs)
            if response.status_code != 429:
                response.raise_for_status()
                return response
            self.rate_limited += 1
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
        raise RuntimeError(f"{url}: still rate limited after {MAX_ATTEMPTS} attempts")


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def _entries(rows: Iterable[dict[str, Any]]) -> list[TimeEntry]:
    entries = []
    for row in rows:
        for item in row["time_entries"]:
            entries.append(
                TimeEntry.model_validate(
                    {
                        "id": item["id"],
                        "user_id": row["user_id"],
                        "user_name": row.get("username") or "",
                        "description": row.get("description") or "",
                        "start": item["start"],
                        "stop": item["stop"],
                        "seconds": item["seconds"],
                    }
                )
            )
    return entries


def _entity_ids(
    entries: list[TimeEntry], users: list[TogglUser], start: date, end: date
) -> dict[str, list[str]]:
    aggregated = aggregate(entries, users, start, end, DescriptionParser(ParsingSettings()))
    ids = referenced_entities(aggregated)
    ids.pop(UNKNOWN_TYPE, None)  # no [database] [type]: nothing to query
    return ids


async def run_original(sims: Simulators, start: date, end: date) -> OriginalResult:
    """Replay the original strategy against ``sims``; counts come from the simulators."""
    sims.toggl.reset_stats()
    sims.fibery.reset_stats()
    began = time.monotonic()
    async with httpx.AsyncClient(timeout=60) as client:
        toggl = _Sender(client, TOGGL_RATE)
        auth = httpx.BasicAuth(sims.toggl.token, "api_token")
        base = f"{sims.toggl.base_url}/api/v9/workspaces/{sims.workspace_id}"
        users = [
            TogglUser(id=u["id"], email=u.get("email"), name=u.get("fullname") or "")
            for u in (await toggl.send("GET", f"{base}/users", auth=auth)).json()
        ]
        search = (
            f"{sims.toggl.base_url}/reports/api/v3/workspace/{sims.workspace_id}"
            "/search/time_entries"
        )
        rows: list[dict[str, Any]] = []
        for day in _days(start, end):
            cursor: dict[str, int] = {}
            while True:
                body = {
                    "start_date": day.isoformat(),
                    "end_date": day.isoformat(),
                    "page_size": PAGE_SIZE,
                    **cursor,
                }
                response = await toggl.send("POST", search, auth=auth, json=body)
                rows += response.json()
                next_id = response.headers.get("X-Next-ID")
                if next_id is None:
                    break
                cursor = {
                    "first_id": int(next_id),
                    "first_row_number": int(response.headers["X-Next-Row-Number"]),
                }
        entries = _entries(rows)
        ids = _entity_ids(entries, users, start, end)

        fibery = _Sender(client, FIBERY_RATE)
        headers = {"Authorization": f"Token {sims.fibery.token}"}
        for type_key, public_ids in ids.items():
            space = type_key.split("/", 1)[0]
            for public_id in public_ids:
                query = {
                    "q/from": type_key,
                    "q/select": {
                        "id": "fibery/id",
                        "public_id": "fibery/public-id",
                        "name": f"{space}/Name",
                        "state": ["workflow/state", "enum/name"],
                        "description": [f"{space}/Description", "Collaboration~Documents/secret"],
                    },
                    "q/where": ["=", ["fibery/public-id"], "$id"],
                    "q/limit": 1,
                }
                command = {
                    "command": "fibery.entity/query",
                    "args": {"query": query, "params": {"$id": public_id}},
                }
                await fibery.send(
                    "POST", f"{sims.fibery.base_url}/api/commands", headers=headers, json=[command]
                )
    wall = time.monotonic() - began
    toggl_stats, fibery_stats = sims.toggl.stats(), sims.fibery.stats()
    return OriginalResult(
        mode="run",
        toggl_requests=toggl_stats["requests"],
        fibery_requests=fibery_stats["requests"],
        entries=len(entries),
        entities=sum(len(v) for v in ids.values()),
        wall_seconds=round(wall, 1),
        rate_limited=toggl_stats["rate_limited"] + fibery_stats["rate_limited"],
    )


def estimate_original(
    entries: Iterable[TimeEntryRecord],
    start: date,
    end: date,
    referenced: dict[str, list[str]],
) -> OriginalResult:
    """The original's request counts on a workload without sending them.

    Toggl: the users lookup plus, per day, ``max(1, ceil(entries that day / 50))`` pages (an
    empty day still costs its one request). Fibery: one request per referenced entity of a
    known type. ``wall_seconds`` is what the rate limits alone need for those requests.
    """
    per_day = Counter(
        day for e in entries if start <= (day := e.start.astimezone(UTC).date()) <= end
    )
    pages = sum(max(1, math.ceil(per_day.get(day, 0) / PAGE_SIZE)) for day in _days(start, end))
    toggl_requests = 1 + pages
    fibery_requests = sum(len(ids) for key, ids in referenced.items() if key != UNKNOWN_TYPE)
    return OriginalResult(
        mode="estimate",
        toggl_requests=toggl_requests,
        fibery_requests=fibery_requests,
        entries=sum(per_day.values()),
        entities=fibery_requests,
        wall_seconds=round(toggl_requests / TOGGL_RATE + fibery_requests / FIBERY_RATE, 1),
    )
