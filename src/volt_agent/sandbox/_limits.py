"""Rate limit and quota bookkeeping of the simulators; thread-safe, clock injected."""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

Clock = Callable[[], float]
"""Seconds on a monotonic scale, e.g. ``time.monotonic``."""


class LeakyBucket:
    """Each request pours one unit in; the bucket drains ``rate`` units per second.

    A request that would overflow ``capacity`` is refused and nothing is poured, so a client
    that waits the advertised time is admitted.
    """

    def __init__(self, rate: float, capacity: float, clock: Clock) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be positive and capacity at least 1")
        self._rate = rate
        self._capacity = capacity
        self._clock = clock
        self._level = 0.0
        self._last = clock()
        self._lock = threading.Lock()

    def try_acquire(self) -> float | None:
        """``None`` when admitted, else the seconds until a request would be."""
        with self._lock:
            now = self._clock()
            self._level = max(0.0, self._level - (now - self._last) * self._rate)
            self._last = now
            if self._level + 1 > self._capacity + 1e-9:
                return (self._level + 1 - self._capacity) / self._rate
            self._level += 1
            return None


QuotaWindow = Literal["sliding", "fixed"]
"""How an hourly quota's 60 minutes are counted; see ``hourly_quota``."""


@dataclass(frozen=True, slots=True)
class QuotaAnswer:
    admitted: bool
    remaining: int
    """Requests left in the window after this one (never negative)."""
    resets_in: int
    """Whole seconds until the window frees a request (at least 1)."""


class HourlyQuota(Protocol):
    def try_acquire(self) -> QuotaAnswer:
        """Count one request if the window has room; refused requests do not count."""

    def peek(self) -> QuotaAnswer:
        """The answer a request would get now, without counting anything."""


class _WindowQuota(ABC):
    """What both ways of counting share: the limit, the window, the clock and a lock."""

    def __init__(self, limit: int, clock: Clock, window_seconds: float = 3600.0) -> None:
        if limit < 0:
            raise ValueError("limit must not be negative")
        self._limit = limit
        self._window = window_seconds
        self._clock = clock
        self._lock = threading.Lock()

    def try_acquire(self) -> QuotaAnswer:
        return self._answer(count=True)

    def peek(self) -> QuotaAnswer:
        return self._answer(count=False)

    @abstractmethod
    def _answer(self, *, count: bool) -> QuotaAnswer:
        """The answer now; ``count`` records the request when it is admitted."""


class SlidingWindowQuota(_WindowQuota):
    """At most ``limit`` admitted requests in any ``window_seconds``; refused ones do not count.

    ``resets_in`` counts down to the oldest counted request leaving the window.
    """

    def __init__(self, limit: int, clock: Clock, window_seconds: float = 3600.0) -> None:
        super().__init__(limit, clock, window_seconds)
        self._admitted: deque[float] = deque()

    def _answer(self, *, count: bool) -> QuotaAnswer:
        with self._lock:
            now = self._clock()
            while self._admitted and self._admitted[0] <= now - self._window:
                self._admitted.popleft()
            admitted = len(self._admitted) < self._limit
            if admitted and count:
                self._admitted.append(now)
            oldest = self._admitted[0] if self._admitted else now
            resets_in = max(1, math.ceil(oldest + self._window - now))
            return QuotaAnswer(admitted, self._limit - len(self._admitted), resets_in)


class FixedWindowQuota(_WindowQuota):
    """At most ``limit`` admitted requests per window; refused ones do not count.

    A window opens with the first request after the previous one closed and the whole count
    resets ``window_seconds`` later ("the count begins when the initial request is made …
    after 60 minutes, the count resets").
    """

    def __init__(self, limit: int, clock: Clock, window_seconds: float = 3600.0) -> None:
        super().__init__(limit, clock, window_seconds)
        self._opened: float | None = None
        self._count = 0

    def _answer(self, *, count: bool) -> QuotaAnswer:
        with self._lock:
            now = self._clock()
            opened, used = self._opened, self._count
            if opened is None or now >= opened + self._window:
                opened, used = now, 0
            admitted = used < self._limit
            if admitted and count:
                used += 1
            if count:
                self._opened, self._count = opened, used
            resets_in = max(1, math.ceil(opened + self._window - now))
            return QuotaAnswer(admitted, self._limit - used, resets_in)


def hourly_quota(
    limit: int, clock: Clock, window: QuotaWindow = "sliding", window_seconds: float = 3600.0
) -> HourlyQuota:
    """A quota of ``limit`` requests per ``window_seconds`` counted the ``window`` way."""
    if window == "fixed":
        return FixedWindowQuota(limit, clock, window_seconds)
    return SlidingWindowQuota(limit, clock, window_seconds)
