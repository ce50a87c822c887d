"""``run_until_terminated`` runs a process's workers (shared queue and API queues) as one."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest

from volt_agent.pipeline.shutdown import run_until_terminated


class FakeWorker:
    """Runs until ``shutdown`` (or fails with ``error`` after ``fail_after`` seconds)."""

    def __init__(self, error: Exception | None = None, fail_after: float = 0.05) -> None:
        self.stopped = asyncio.Event()
        self.shutdowns = 0
        self.error = error
        self.fail_after = fail_after

    async def run(self) -> None:
        if self.error is not None:
            await asyncio.sleep(self.fail_after)
            raise self.error
        await self.stopped.wait()

    async def shutdown(self) -> None:
        self.shutdowns += 1
        self.stopped.set()


async def test_sigterm_shuts_every_worker_down() -> None:
    workers = [FakeWorker(), FakeWorker(), FakeWorker()]
    called: list[bool] = []
    loop = asyncio.get_running_loop()
    loop.call_later(0.1, os.kill, os.getpid(), signal.SIGTERM)
    group: Any = workers
    assert await run_until_terminated(group, lambda: called.append(True)) is True
    assert called == [True]
    assert [w.shutdowns for w in workers] == [1, 1, 1]


async def test_one_worker_failing_stops_the_others_and_raises() -> None:
    workers = [FakeWorker(), FakeWorker(RuntimeError("poll failed"))]
    group: Any = workers
    with pytest.raises(RuntimeError, match="poll failed"):
        await run_until_terminated(group)
    assert workers[0].shutdowns == 1
    assert workers[0].stopped.is_set()
