"""Following a run notices its end as soon as the run's long poll returns, not a poll later."""

from __future__ import annotations

import asyncio
import io
import time

from rich.console import Console

from volt_agent import progress_view
from volt_agent.pipeline.types import Progress


class FakeRun:
    def __init__(self) -> None:
        self.ended = asyncio.Event()
        self.polls = 0

    async def poll(self) -> Progress:
        self.polls += 1
        return Progress(run_id="r", activities_total=10)

    async def finished(self) -> bool:
        return self.ended.is_set()

    async def result(self) -> None:
        await self.ended.wait()


def console() -> Console:
    return Console(file=io.StringIO(), force_terminal=False)


async def end_after(run: FakeRun, seconds: float) -> None:
    await asyncio.sleep(seconds)
    run.ended.set()


async def test_the_end_is_seen_when_the_long_poll_returns() -> None:
    run = FakeRun()
    ending = asyncio.create_task(end_after(run, 0.05))
    began = time.monotonic()
    await progress_view.follow(run.poll, run.finished, console(), closed=run.result)
    await ending
    assert time.monotonic() - began < progress_view.POLL_SECONDS - 0.2


async def test_without_the_long_poll_the_end_waits_for_the_next_poll() -> None:
    run = FakeRun()
    ending = asyncio.create_task(end_after(run, 0.05))
    began = time.monotonic()
    await progress_view.follow(run.poll, run.finished, console())
    await ending
    assert time.monotonic() - began >= progress_view.POLL_SECONDS


async def test_a_failed_long_poll_falls_back_to_polling_at_the_usual_pace() -> None:
    run = FakeRun()

    async def broken() -> None:
        raise ConnectionError("the server went away")

    ending = asyncio.create_task(end_after(run, 0.6))
    await progress_view.follow(run.poll, run.finished, console(), closed=broken)
    await ending
    # at 0, once more at once (the failure woke the pause), at 0.5 s, at 1 s: no busy loop
    assert run.polls <= 4
