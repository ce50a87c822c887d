"""Request counting shared by both simulators.

Every request to a simulated endpoint increments its endpoint name (``toggl.me``,
``fibery.commands`` …), ``requests`` and ``status.<code>`` of its answer; the simulators add
``rate_limited``, ``quota_exceeded``, ``faulted`` and per-command counters. ``/_sandbox/*``
paths are never counted. Counters are read with ``RequestStats.snapshot()`` in-process or
``GET /_sandbox/stats`` over HTTP, and cleared with ``reset()`` / ``DELETE /_sandbox/stats``.

Peak rates: ``peak_1s`` / ``peak_10s`` are the most requests the simulator (the simulated
workspace, every token together) received in any 1 s / 10 s window; ``peak_1s.token.<id>`` /
``peak_10s.token.<id>`` the same per credential, ``<id>`` being the first 8 hex digits of the
SHA-256 of its ``Authorization`` header (never the token). Refused requests (429) count: they
are what the clients sent. They appear with the first request.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATS_PATH = "/_sandbox/stats"
SANDBOX_PREFIX = "/_sandbox/"
COMMON_COUNTERS = ("requests", "rate_limited", "quota_exceeded", "faulted")
PEAK_WINDOWS = {"peak_1s": 1.0, "peak_10s": 10.0}
"""Counter name → window length (seconds) of the peak request counts."""


class PeakRates:
    """The most events seen in any ``window`` seconds, per key and window (not thread-safe:
    ``RequestStats`` holds the lock)."""

    def __init__(self) -> None:
        self._recent: dict[tuple[str, float], deque[float]] = {}
        self.peaks: Counter[str] = Counter()

    def record(self, key: str, now: float) -> None:
        """One event of ``key`` (a counter suffix, ``""`` for all) at ``now``."""
        for name, window in PEAK_WINDOWS.items():
            recent = self._recent.setdefault((key, window), deque())
            recent.append(now)
            while recent[0] <= now - window:
                recent.popleft()
            counter = f"{name}{key}"
            self.peaks[counter] = max(self.peaks[counter], len(recent))


class RequestStats:
    """Thread-safe counters; the simulator may serve from another thread than the reader."""

    def __init__(
        self, known: Iterable[str] = (), clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._known = tuple(dict.fromkeys((*COMMON_COUNTERS, *known)))
        self._counts: Counter[str] = Counter()
        self._peaks = PeakRates()
        self._clock = clock
        self._lock = threading.Lock()

    def request_sent(self, authorization: str) -> None:
        """A request arrived with this ``Authorization`` header: update the peak rates."""
        digest = hashlib.sha256(authorization.encode()).hexdigest()[:8]
        with self._lock:
            now = self._clock()
            self._peaks.record("", now)
            self._peaks.record(f".token.{digest}", now)

    def increment(self, key: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[key] += amount

    def get(self, key: str) -> int:
        with self._lock:
            return self._counts[key]

    def snapshot(self) -> dict[str, int]:
        """All counters; known endpoint names and common counters are present even at zero."""
        with self._lock:
            counts = dict.fromkeys(self._known, 0)
            counts.update(self._counts)
            counts.update(self._peaks.peaks)
            return dict(sorted(counts.items()))

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._peaks = PeakRates()


class EndpointTable:
    """Maps ``(method, path)`` to an endpoint name; unknown requests get ``fallback``."""

    def __init__(self, routes: Iterable[tuple[str, str, str]], fallback: str) -> None:
        """``routes`` are ``(method, full-match path regex, endpoint name)``."""
        self._routes = tuple((m, re.compile(p), n) for m, p, n in routes)
        self.fallback = fallback

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for _, _, name in self._routes))

    def resolve(self, method: str, path: str) -> str | None:
        """The endpoint name, or ``None`` for the simulator's own ``/_sandbox/`` paths."""
        if path.startswith(SANDBOX_PREFIX):
            return None
        for route_method, pattern, name in self._routes:
            if route_method == method and pattern.fullmatch(path):
                return name
        return self.fallback


class StatsMiddleware:
    """Counts each request by endpoint and each answer by status code."""

    def __init__(self, app: ASGIApp, *, stats: RequestStats, endpoints: EndpointTable) -> None:
        self.app = app
        self.stats = stats
        self.endpoints = endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = self.endpoints.resolve(scope["method"], scope["path"])
        if name is None:
            await self.app(scope, receive, send)
            return
        self.stats.increment(name)
        self.stats.increment("requests")
        headers = dict(scope["headers"])
        self.stats.request_sent(headers.get(b"authorization", b"").decode("latin-1"))

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.stats.increment(f"status.{message['status']}")
            await send(message)

        await self.app(scope, receive, counting_send)


def add_stats_routes(app: FastAPI, stats: RequestStats) -> None:
    """``GET``/``DELETE`` ``/_sandbox/stats``: read or clear counters; no auth, not counted."""

    async def read_stats() -> JSONResponse:
        return JSONResponse(stats.snapshot())

    async def reset_stats() -> JSONResponse:
        stats.reset()
        return JSONResponse(stats.snapshot())

    app.add_api_route(STATS_PATH, read_stats, methods=["GET"], include_in_schema=False)
    app.add_api_route(STATS_PATH, reset_stats, methods=["DELETE"], include_in_schema=False)
