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
from collections.abc import Callable, Sequence

from temporalio.worker import Worker


async def run_until_terminated(
    workers: Worker | Sequence[Worker], on_terminate: Callable[[], None] = lambda: None
) -> bool:
    """Run ``workers`` (the shared-queue worker and the API queues' workers of one process)
    until they stop; SIGTERM shuts them all down gracefully (``on_terminate`` is called
    first), and so does one of them stopping on its own (its error is raised). Returns
    whether SIGTERM stopped them."""
    group = [workers] if isinstance(workers, Worker) else list(workers)
    loop = asyncio.get_running_loop()
    terminated = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, terminated.set)
    running = [asyncio.create_task(worker.run()) for worker in group]
    waiting = asyncio.create_task(terminated.wait())
    try:
        await asyncio.wait({*running, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if terminated.is_set():
            on_terminate()
        live = [w for w, task in zip(group, running, strict=True) if not task.done()]
        if live:
            await asyncio.gather(*(worker.shutdown() for worker in live))
        for task in running:
            await task
        return terminated.is_set()
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        waiting.cancel()
        pending = [task for task in running if not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
