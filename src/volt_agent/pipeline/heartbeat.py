"""Background heartbeats for activities that do one long thing without natural checkpoints.

Every regular activity runs with a heartbeat timeout, so a worker that dies (SIGKILL, lost
host) is noticed within that timeout instead of the much longer start-to-close timeout, and
the batch is retried elsewhere. Activities with a cursor of their own (``fetch_toggl_data``)
heartbeat their cursor instead and must not use this: a detail-less heartbeat would replace
the cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from temporalio import activity

P = ParamSpec("P")
R = TypeVar("R")

MIN_INTERVAL_SECONDS = 0.5


def keeps_heartbeating(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Heartbeat every third of the heartbeat timeout while ``fn`` runs (no-op when local)."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        info = activity.info()
        if info.is_local or not info.heartbeat_timeout:
            return await fn(*args, **kwargs)
        interval = max(info.heartbeat_timeout.total_seconds() / 3, MIN_INTERVAL_SECONDS)

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
