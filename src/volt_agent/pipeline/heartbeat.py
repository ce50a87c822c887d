"""Background heartbeats, so an activity is alive for Temporal through every wait.

Every regular activity runs with a heartbeat timeout, so a worker that dies (SIGKILL, lost
host) is noticed within that timeout instead of the much longer start-to-close timeout, and
the work is retried elsewhere. A heartbeat sent only between steps is not enough: one step
can wait longer than the timeout (a slow request, the rate limiter, a ``Retry-After``), and
then Temporal starts a second attempt while the first still runs.

``keeps_heartbeating`` heartbeats without details for activities without a checkpoint of
their own. ``checkpoint_heartbeat`` is for activities that checkpoint their progress in the
heartbeat details (``fetch_toggl_data``): it re-sends the latest checkpoint, so a detail-less
heartbeat never replaces it; until the activity sends its first one it re-sends the details
the attempt started from (the previous attempt's checkpoint).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from temporalio import activity

P = ParamSpec("P")
R = TypeVar("R")

MIN_INTERVAL_SECONDS = 0.5
WAIT_SHARE = 0.8
"""The longest single wait inside an activity, as a share of its heartbeat timeout."""


class Heartbeat:
    """The details an activity reports; ``beat`` sends new ones, the ticker repeats them."""

    def __init__(self, details: tuple[Any, ...] = ()) -> None:
        self.details = details

    def beat(self, *details: Any) -> None:
        self.details = details
        activity.heartbeat(*details)


def heartbeat_interval() -> float | None:
    """A third of this activity's heartbeat timeout (``None``: local or without one)."""
    info = activity.info()
    if info.is_local or not info.heartbeat_timeout:
        return None
    return max(info.heartbeat_timeout.total_seconds() / 3, MIN_INTERVAL_SECONDS)


def longest_wait(default: float) -> float:
    """``WAIT_SHARE`` of this activity's heartbeat timeout (``default`` without one)."""
    info = activity.info()
    if info.is_local or not info.heartbeat_timeout:
        return default
    return WAIT_SHARE * info.heartbeat_timeout.total_seconds()


@contextlib.asynccontextmanager
async def checkpoint_heartbeat() -> AsyncIterator[Heartbeat]:
    """Heartbeat the latest details every third of the heartbeat timeout while the block runs."""
    heartbeat = Heartbeat(tuple(activity.info().heartbeat_details))
    interval = heartbeat_interval()
    if interval is None:
        yield heartbeat
        return

    async def tick() -> None:
        while True:
            await asyncio.sleep(interval)
            activity.heartbeat(*heartbeat.details)

    ticker = asyncio.create_task(tick())
    try:
        yield heartbeat
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker


def keeps_heartbeating(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Heartbeat every third of the heartbeat timeout while ``fn`` runs (no-op when local)."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        interval = heartbeat_interval()
        if interval is None:
            return await fn(*args, **kwargs)

        async def beat() -> None:
            while True:
                await asyncio.sleep(interval)
                activity.heartbeat()

        ticker = asyncio.create_task(beat())
        try:
            return await fn(*args, **kwargs)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker

    return wrapper
