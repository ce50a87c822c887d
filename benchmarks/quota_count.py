"""What a quota-bound run did to Toggl's hourly quota, from the simulator's own request log.

``QuotaLog`` wraps the Toggl simulator's ASGI app and records, for every answer, when it was
sent, to which endpoint and with what status and ``X-Toggl-Quota-Remaining``. The rest is
pure: ``quota_windows`` cuts the log into the quota's windows the way the simulator's
``fixed`` quota opens them (a window opens with the first counted request after the previous
one closed, and lasts ``window_seconds``); ``extra_402s`` counts the quota refusals beyond
the first of each window — each one a request the client sent although an earlier answer
had already told it the quota was used up; ``windows_needed`` and ``quota_floor`` give the
least time the quota allows.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

USER_LEVEL_PREFIX = "/api/v9/me"
"""``/me`` and ``/me/*`` count against the per-user quota, not the workspace quota."""
SANDBOX_PREFIX = "/_sandbox/"
QUOTA_REFUSED = 402
RATE_LIMITED = 429


@dataclass(frozen=True, slots=True)
class QuotaEvent:
    at: float
    """Monotonic seconds when the answer started (after the simulator decided)."""
    path: str
    status: int
    remaining: int | None
    """``X-Toggl-Quota-Remaining`` of the answer; ``None`` when it had none."""

    @property
    def workspace_level(self) -> bool:
        """Counted against the workspace quota (``/me`` has its own)."""
        return not self.path.startswith(USER_LEVEL_PREFIX)


@dataclass(frozen=True, slots=True)
class QuotaWindow:
    opened: float
    admitted: int
    refused: int
    """Quota 402s answered in this window."""


class QuotaLog:
    """An ASGI wrapper recording every answer of the wrapped app (``/_sandbox/*`` excepted)."""

    def __init__(self, app: ASGIApp, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self._clock = clock
        self._events: list[QuotaEvent] = []
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path.startswith(SANDBOX_PREFIX):
            await self.app(scope, receive, send)
            return

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._record(path, int(message["status"]), message.get("headers", []))
            await send(message)

        await self.app(scope, receive, recording_send)

    def _record(self, path: str, status: int, headers: Iterable[tuple[bytes, bytes]]) -> None:
        remaining = None
        for name, value in headers:
            if name.lower() == b"x-toggl-quota-remaining" and value.strip().isdigit():
                remaining = int(value)
        with self._lock:
            self._events.append(QuotaEvent(self._clock(), path, status, remaining))

    def events(self) -> list[QuotaEvent]:
        with self._lock:
            return list(self._events)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()


def quota_windows(events: Sequence[QuotaEvent], window_seconds: float) -> list[QuotaWindow]:
    """The workspace quota's windows over ``events``, in order.

    429s never reach the quota and are skipped. An admitted answer opens a window when none
    is open or the open one has closed by its time; a 402 always belongs to the open window
    (the simulator refuses only inside a used-up window, so a 402 logged a few milliseconds
    past the reconstructed end is still that window's)."""
    windows: list[QuotaWindow] = []
    counted = sorted(
        (e for e in events if e.workspace_level and e.status != RATE_LIMITED), key=lambda e: e.at
    )
    for event in counted:
        refused = event.status == QUOTA_REFUSED
        current = windows[-1] if windows else None
        if current is None or (not refused and event.at >= current.opened + window_seconds):
            windows.append(QuotaWindow(event.at, 0 if refused else 1, 1 if refused else 0))
            continue
        windows[-1] = QuotaWindow(
            current.opened, current.admitted + (not refused), current.refused + refused
        )
    return windows


def extra_402s(windows: Iterable[QuotaWindow]) -> int:
    """Quota refusals beyond the first of each window (the target is 0)."""
    return sum(max(0, w.refused - 1) for w in windows)


def windows_needed(requests: int, quota: int) -> int:
    """How many quota windows ``requests`` counted requests take at ``quota`` per window."""
    if quota < 1:
        raise ValueError("quota must be at least 1")
    return max(1, math.ceil(requests / quota))


def quota_floor(requests: int, quota: int, window_seconds: float) -> float:
    """The issue's yardstick of a quota-bound run: windows needed x window length (s)."""
    return windows_needed(requests, quota) * window_seconds


def quota_binds(quota: int, window_seconds: float, requests_per_second: float) -> bool:
    """Whether the quota, not the rate limit, paces a long run: a window's quota takes less
    time to send at the rate than the window lasts."""
    return quota / requests_per_second < window_seconds
