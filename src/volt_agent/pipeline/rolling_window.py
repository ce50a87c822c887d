"""Bounded-concurrency fan-out for workflow code.

At most ``max_concurrent`` calls are in flight; as soon as one finishes the next starts
(a sliding window, not fixed waves). Deterministic: items start in order and only
``asyncio.wait`` on workflow-created tasks is used, which Temporal's event loop replays.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


async def process_with_rolling_window(
    items: Sequence[T],
    fn: Callable[[T], Awaitable[R]],
    max_concurrent: int,
    on_done: Callable[[T, R], None] | None = None,
) -> list[R]:
    """Run ``fn`` over ``items`` with at most ``max_concurrent`` running; results in item order.

    The first exception cancels the calls still running and is raised.
    """
    if max_concurrent < 1:
        raise ValueError("max_concurrent must be at least 1")
    pending: deque[int] = deque(range(len(items)))
    running: dict[asyncio.Task[R], int] = {}
    results: dict[int, R] = {}
    try:
        while pending or running:
            while pending and len(running) < max_concurrent:
                index = pending.popleft()
                running[asyncio.ensure_future(fn(items[index]))] = index
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=running.__getitem__):
                index = running.pop(task)
                results[index] = task.result()
                if on_done is not None:
                    on_done(items[index], results[index])
    finally:
        for task in running:
            task.cancel()
            task.add_done_callback(_retrieve)
    return [results[i] for i in range(len(items))]


def _retrieve(task: asyncio.Task[R]) -> None:
    """Mark the outcome of a call cancelled above as seen: the first exception, already
    raised, is the one that matters ("Task exception was never retrieved" otherwise)."""
    if not task.cancelled():
        task.exception()
