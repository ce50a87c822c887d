"""Graceful stop of a long-lived worker on SIGTERM (what ``docker stop`` and a Kubernetes
rollout send).

The worker stops polling at once, gives the activities it is running up to
``worker.graceful_shutdown_seconds`` to finish (``Worker(graceful_shutdown_timeout=...)``),
cancels what is still running, reports the results it has and returns, so the process exits 0.
Work it did not take is left on the task queue for the other workers.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from temporalio.worker import Worker


async def run_until_terminated(
    worker: Worker, on_terminate: Callable[[], None] = lambda: None
) -> bool:
    """Run ``worker`` until it stops; SIGTERM shuts it down gracefully (``on_terminate`` is
    called first). Returns whether SIGTERM stopped it."""
    loop = asyncio.get_running_loop()
    terminated = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, terminated.set)
    running = asyncio.create_task(worker.run())
    waiting = asyncio.create_task(terminated.wait())
    try:
        await asyncio.wait({running, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if terminated.is_set():
            on_terminate()
            await worker.shutdown()
        await running
        return terminated.is_set()
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        waiting.cancel()
        if not running.done():
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
