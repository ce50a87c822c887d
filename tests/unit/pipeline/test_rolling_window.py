import asyncio
import gc

import pytest

from volt_agent.pipeline.rolling_window import process_with_rolling_window


async def test_never_more_than_max_concurrent_and_results_in_order() -> None:
    running = 0
    peak = 0
    started: list[int] = []

    async def work(item: int) -> int:
        nonlocal running, peak
        started.append(item)
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (item % 3))
        running -= 1
        return item * 10

    done: list[int] = []
    results = await process_with_rolling_window(
        list(range(12)), work, 3, on_done=lambda item, _r: done.append(item)
    )
    assert results == [i * 10 for i in range(12)]
    assert peak == 3
    assert started == list(range(12))
    assert sorted(done) == list(range(12))


async def test_next_item_starts_as_soon_as_one_finishes() -> None:
    release = {i: asyncio.Event() for i in range(3)}
    started: list[int] = []

    async def work(item: int) -> int:
        started.append(item)
        await release[item].wait()
        return item

    task = asyncio.ensure_future(process_with_rolling_window([0, 1, 2], work, 2))
    await asyncio.sleep(0.01)
    assert started == [0, 1]
    release[1].set()
    await asyncio.sleep(0.01)
    assert started == [0, 1, 2]
    release[0].set()
    release[2].set()
    assert await task == [0, 1, 2]


async def test_first_error_cancels_the_rest() -> None:
    cancelled: list[int] = []

    async def work(item: int) -> int:
        if item == 1:
            raise RuntimeError("boom")
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            cancelled.append(item)
            raise
        return item

    with pytest.raises(RuntimeError, match="boom"):
        await process_with_rolling_window([0, 1, 2], work, 2)
    await asyncio.sleep(0)
    assert cancelled == [0]


async def test_calls_that_fail_when_cancelled_leave_no_unretrieved_exception() -> None:
    """Like an activity call, a cancelled call may end with an error of its own; nobody awaits
    it after the first error, so its outcome must be marked seen, not logged at collection."""
    reported: list[str] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: reported.append(context["message"]))

    async def work(item: int) -> int:
        if item == 1:
            raise RuntimeError("boom")
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            raise ValueError(f"activity {item} cancelled") from None
        return item

    try:
        with pytest.raises(RuntimeError, match="boom"):
            await process_with_rolling_window([0, 1, 2], work, 2)
        await asyncio.sleep(0)
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert reported == []


async def test_empty_and_invalid() -> None:
    async def work(item: int) -> int:
        return item

    assert await process_with_rolling_window([], work, 2) == []
    with pytest.raises(ValueError, match="at least 1"):
        await process_with_rolling_window([1], work, 0)
