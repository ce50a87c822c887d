"""Merge API calls that wait for the same rate-limit slot into one HTTP request.

Fibery allows about 3 requests per second, and its commands and documents endpoints take
lists: one request can carry several entity queries, or the documents of several batches.
When enrichment activities of several types run at once in a worker, each would otherwise
send its own request and queue behind the shared limiter. A ``Coalescer`` queues their calls
instead; one merged request waits for the limiter, and only when the limiter admits it does
it take every call queued by then (up to ``capacity``). A call that finds the limiter free
leaves at once, alone: merging never adds latency, it only fills requests that had to wait
anyway. Each caller gets its own part of the answer, or the request's error — unless
``isolate`` says the error may belong to one item only (an API that refuses a whole request
for one bad command): then each item of that merged request is sent again alone, so only
the failing one's caller gets the error.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from volt_agent.sources.http import LazyBody

T = TypeVar("T")
R = TypeVar("R")

Send = Callable[[LazyBody], Awaitable[Any]]
"""Sends one request with the given body (built when the limiter admits it); its answer."""


@dataclass
class _Call(Generic[T, R]):
    item: T
    future: asyncio.Future[R] = field(repr=False)


class Coalescer(Generic[T, R]):
    """Calls of one endpoint, merged per limiter slot.

    ``build(items)`` is the body of a request carrying ``items``; ``split(items, answer)``
    returns one result per item, in order (it may raise for a malformed answer: every
    caller of that request gets the error). A request carries items of total ``weight`` at
    most ``capacity`` (which may be lowered later); a single heavier item still travels,
    alone. ``isolate(error)``: whether a merged request that failed with ``error`` is retried
    as one request per item.
    """

    def __init__(
        self,
        send: Send,
        build: Callable[[list[T]], Any],
        split: Callable[[list[T], Any], list[R]],
        *,
        capacity: int,
        weight: Callable[[T], int] = lambda _item: 1,
        isolate: Callable[[Exception], bool] = lambda _error: False,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._send = send
        self._build = build
        self._split = split
        self._capacity = capacity
        self._weight = weight
        self._isolate = isolate
        self._queue: deque[_Call[T, R]] = deque()
        self._waiting = False
        """A merged request is waiting for the limiter and has not taken its items yet."""
        self._tasks: set[asyncio.Task[None]] = set()
        self.requests = 0
        self.calls = 0

    @property
    def capacity(self) -> int:
        return self._capacity

    @capacity.setter
    def capacity(self, value: int) -> None:
        if value < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = value

    async def submit(self, item: T) -> R:
        """Queue ``item`` for the next request and wait for its result."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append(_Call(item, future))
        self.calls += 1
        if not self._waiting:
            self._start()
        return await future

    def _start(self) -> None:
        self._waiting = True
        task = asyncio.get_running_loop().create_task(self._flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _take(self, taken: list[_Call[T, R]]) -> Any:
        """Called when the limiter admits the request: take what is queued, build the body."""
        self._waiting = False
        used = 0
        while self._queue:
            weight = self._weight(self._queue[0].item)
            if taken and used + weight > self._capacity:
                break
            taken.append(self._queue.popleft())
            used += weight
        if self._queue:
            self._start()
        self.requests += 1
        return self._build([call.item for call in taken])

    async def _flush(self) -> None:
        taken: list[_Call[T, R]] = []
        try:
            answer = await self._send(LazyBody(lambda: self._take(taken)))
            results = self._split([call.item for call in taken], answer)
            if len(results) != len(taken):
                raise RuntimeError(f"split gave {len(results)} results for {len(taken)} calls")
        except BaseException as exc:
            if not taken:  # failed before the limiter admitted it: fail what it would carry
                self._waiting = False
                taken, self._queue = list(self._queue), deque()
            elif len(taken) > 1 and isinstance(exc, Exception) and self._isolate(exc):
                await asyncio.gather(*(self._alone(call) for call in taken))
                return
            for call in taken:
                _fail(call, exc)
            if not isinstance(exc, Exception):
                raise
            return
        for call, result in zip(taken, results, strict=True):
            if not call.future.done():
                call.future.set_result(result)

    async def _alone(self, call: _Call[T, R]) -> None:
        """Send ``call`` in a request of its own; its caller gets the result or the error."""

        def build() -> Any:
            self.requests += 1
            return self._build([call.item])

        try:
            answer = await self._send(LazyBody(build))
            [result] = self._split([call.item], answer)
        except BaseException as exc:
            _fail(call, exc)
            if not isinstance(exc, Exception):
                raise
            return
        if not call.future.done():
            call.future.set_result(result)


def _fail(call: _Call[Any, Any], exc: BaseException) -> None:
    """Hand ``exc`` to a caller still waiting (a cancellation cancels its future)."""
    if call.future.done():
        return
    if isinstance(exc, asyncio.CancelledError):
        call.future.cancel()
    else:
        call.future.set_exception(exc)
