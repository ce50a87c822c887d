"""How long single callbacks blocked the worker's event loop (``volt-agent worker --loop-probe
FILE``, used by the benchmark).

What asyncio's debug mode logs as "Executing <Handle ...> took 0.150 seconds"
(``slow_callback_duration``), without the debug mode's cost: while the probe runs, every
``asyncio.Handle._run`` on the loop's thread is timed (two clock reads and the thread's CPU
clock). A callback longer than ``record_over`` (20 ms) is kept as a ``Stall``: its end, its
duration, the loop thread's CPU time in it (close to the duration when code computed on the
loop; much less when it waited: blocking I/O, the GIL held by another thread, the process not
scheduled), the Temporal activity it ran for (the activity context of the callback) and the
loop thread's stack, which a watchdog thread takes when it finds a callback running for more
than ``record_over`` (it looks every ``watch_every``, 50 ms). Collections of the cyclic garbage
collector over 5 ms are recorded too (``gc.callbacks``): they hold the GIL in whichever thread
triggers them and lengthen any callback they interrupt.

The cost is a few microseconds per callback and 20 watchdog wake-ups a second (measured: 1 to
2 ms of CPU per second of a worker, about 0.6 s over an ``org`` run). The report is written as
JSON to the file from the watchdog thread after every new stall (at most once per second) and
when the probe stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RECORD_OVER_SECONDS = 0.02
WATCH_EVERY_SECONDS = 0.05
GC_RECORD_OVER_SECONDS = 0.005
MAX_STALLS = 2000
"""Stalls (and garbage collections) kept in the report; beyond, the shortest are dropped."""
STACK_FRAMES = 14
OUR_CODE = f"{os.sep}volt_agent{os.sep}"


@dataclass(frozen=True)
class Stall:
    """One callback of the loop that ran longer than ``record_over``."""

    ended_at: float
    """Wall clock (``time.time()``) at its end."""
    seconds: float
    loop_cpu_seconds: float = 0.0
    """The loop thread's CPU time during the callback."""
    activity: str = ""
    """The Temporal activity type the callback ran for, if any."""
    callback: str = ""
    """What the callback was: the task's coroutine, or the function called."""
    where: str = ""
    """The innermost frame of volt-agent's code on the loop thread, if the watchdog saw it."""
    stack: list[str] = field(default_factory=list)
    """The loop thread's innermost frames (innermost last), ``file:line function``."""
    threads: list[str] = field(default_factory=list)
    """Every other thread's innermost frame (volt-agent's innermost, if it has one)."""

    @property
    def started_at(self) -> float:
        return self.ended_at - self.seconds


@dataclass(frozen=True)
class GcPause:
    """A collection of the cyclic garbage collector longer than ``GC_RECORD_OVER_SECONDS``."""

    ended_at: float
    seconds: float
    generation: int

    @property
    def started_at(self) -> float:
        return self.ended_at - self.seconds


def longest_stall(stalls: list[Stall], start: float, end: float) -> Stall | None:
    """The longest stall overlapping ``[start, end]`` (wall clock), if any."""
    inside = [s for s in stalls if s.started_at <= end and s.ended_at >= start]
    return max(inside, key=lambda s: s.seconds, default=None)


def gc_seconds_in(stall: Stall, pauses: list[GcPause]) -> float:
    """Seconds of garbage collection within ``stall``."""
    return sum(
        max(0.0, min(p.ended_at, stall.ended_at) - max(p.started_at, stall.started_at))
        for p in pauses
    )


@dataclass(frozen=True)
class Seen:
    """What the watchdog saw while a callback ran long."""

    where: str
    stack: list[str]
    threads: list[str] = field(default_factory=list)


def frames_of(frame: Any) -> tuple[str, list[str]]:
    """``(where, stack)`` of a frame: volt-agent's innermost frame and the innermost frames."""
    summary = traceback.extract_stack(frame)
    lines = [f"{_short(f.filename)}:{f.lineno} {f.name}" for f in summary]
    ours = [line for f, line in zip(summary, lines, strict=True) if OUR_CODE in f.filename]
    return (ours[-1] if ours else ""), lines[-STACK_FRAMES:]


def seen_now(loop_thread: int) -> Seen | None:
    """The loop thread's stack and the other threads' innermost frames, now (the calling
    thread left out)."""
    frames = sys._current_frames()
    loop_frame = frames.pop(loop_thread, None)
    if loop_frame is None:
        return None
    frames.pop(threading.get_ident(), None)
    where, stack = frames_of(loop_frame)
    threads = []
    for frame in frames.values():
        inner, lines = frames_of(frame)
        threads.append(inner or lines[-1])
    return Seen(where, stack, threads)


def _short(filename: str) -> str:
    for marker in (f"site-packages{os.sep}", f"src{os.sep}", f"lib{os.sep}python"):
        _, found, rest = filename.rpartition(marker)
        if found:
            return rest
    return filename


def describe(handle: asyncio.Handle) -> tuple[str, str]:
    """``(activity, callback)`` of a handle: the Temporal activity type of its context and
    the task's coroutine (or the function) it calls."""
    activity = ""
    context = getattr(handle, "_context", None)
    if context is not None:
        with contextlib.suppress(Exception):  # private SDK state: best effort only
            from temporalio import activity as temporal_activity  # noqa: PLC0415

            current = context.get(temporal_activity._current_context)
            if current is not None:
                activity = current.info().activity_type
    callback = getattr(handle, "_callback", None)
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        name = getattr(coro, "__qualname__", type(coro).__name__)
        return activity, f"{owner.get_name()} {name}"
    return activity, getattr(callback, "__qualname__", type(callback).__name__)


class LoopProbe:
    """Times the callbacks of the loop running on the thread that calls ``start``."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        record_over: float = RECORD_OVER_SECONDS,
        watch_every: float = WATCH_EVERY_SECONDS,
    ) -> None:
        self.path = path
        self.record_over = record_over
        self.watch_every = watch_every
        self.callbacks = 0
        self.max_block = 0.0
        self.stalls: list[Stall] = []
        self.gc_pauses: list[GcPause] = []
        self.gc_seconds = 0.0
        """Time spent in every collection, in any thread, while the probe ran."""
        self.gc_collections = 0
        self._lock = threading.Lock()
        self._loop_thread = threading.get_ident()
        self._running: tuple[int, float] | None = None
        """``(id(handle), start)`` of the callback running on the loop thread."""
        self._seen: tuple[tuple[int, float], Seen] | None = None
        self._gc_started = 0.0
        self._changed = False
        self._original: Callable[[asyncio.Handle], None] | None = None
        self._stop = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="loop-probe", daemon=True)

    def record(
        self,
        seconds: float,
        ended_at: float,
        seen: Seen | None = None,
        loop_cpu: float = 0.0,
        described: tuple[str, str] = ("", ""),
    ) -> None:
        """One callback that ran ``seconds``; kept as a stall when over ``record_over``."""
        with self._lock:
            self.callbacks += 1
            self.max_block = max(self.max_block, seconds)
            if seconds <= self.record_over:
                return
            seen = seen or Seen("", [])
            activity, callback = described
            self.stalls.append(
                Stall(
                    ended_at,
                    seconds,
                    loop_cpu,
                    activity,
                    callback,
                    seen.where,
                    seen.stack,
                    seen.threads,
                )
            )
            if len(self.stalls) > MAX_STALLS:
                self.stalls.remove(min(self.stalls, key=lambda s: s.seconds))
            self._changed = True

    def report(self) -> dict[str, Any]:
        with self._lock:
            longest = max(self.stalls, key=lambda s: s.seconds, default=None)
            return {
                "record_over_ms": round(self.record_over * 1000, 1),
                "watch_every_ms": round(self.watch_every * 1000, 1),
                "callbacks": self.callbacks,
                "max_block_ms": round(self.max_block * 1000, 1),
                "longest": asdict(longest) if longest else None,
                "stalls": [asdict(s) for s in self.stalls],
                "gc_pauses": [asdict(g) for g in self.gc_pauses],
                "gc_seconds": round(self.gc_seconds, 3),
                "gc_collections": self.gc_collections,
            }

    def write(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.report()), encoding="utf-8")
        os.replace(tmp, self.path)

    def start(self) -> None:
        """Time the callbacks of this thread's loop from now on (``asyncio.Handle._run``)."""
        self._loop_thread = threading.get_ident()
        original = asyncio.Handle._run
        self._original = original
        probe = self

        def timed_run(handle: asyncio.Handle) -> None:
            if threading.get_ident() != probe._loop_thread:
                original(handle)  # another thread's loop (e.g. the workflows')
                return
            start, cpu = time.perf_counter(), time.thread_time()
            probe._running = (id(handle), start)
            try:
                original(handle)
            finally:
                probe._running = None
                seconds = time.perf_counter() - start
                if seconds <= probe.record_over:
                    probe.callbacks += 1
                    probe.max_block = max(probe.max_block, seconds)
                else:
                    probe._slow(handle, start, seconds, time.thread_time() - cpu)

        asyncio.Handle._run = timed_run  # type: ignore[method-assign,assignment]
        gc.callbacks.append(self._on_gc)
        self._watchdog.start()

    def stop(self) -> None:
        if self._original is not None:
            asyncio.Handle._run = self._original  # type: ignore[method-assign,assignment]
            self._original = None
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_gc)
        self._stop.set()
        if self._watchdog.is_alive():
            self._watchdog.join(timeout=2)
        self.write()

    def _slow(self, handle: asyncio.Handle, start: float, seconds: float, cpu: float) -> None:
        with self._lock:
            seen = self._seen[1] if self._seen and self._seen[0] == (id(handle), start) else None
        self.record(seconds, time.time(), seen, cpu, describe(handle))

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._gc_started = now
            return
        seconds = now - self._gc_started
        self.gc_seconds += seconds
        self.gc_collections += 1
        if seconds > GC_RECORD_OVER_SECONDS and len(self.gc_pauses) < MAX_STALLS:
            self.gc_pauses.append(GcPause(time.time(), seconds, info["generation"]))

    def _watch(self) -> None:
        written = 0.0
        while not self._stop.wait(self.watch_every):
            running = self._running
            if running is not None and time.perf_counter() - running[1] > self.record_over:
                with self._lock:
                    known = self._seen is not None and self._seen[0] == running
                if not known and (seen := seen_now(self._loop_thread)) is not None:
                    with self._lock:
                        self._seen = (running, seen)
            if self._changed and time.monotonic() - written >= 1.0:
                self._changed = False
                written = time.monotonic()
                self.write()


@contextlib.asynccontextmanager
async def probing(path: Path | None) -> AsyncIterator[LoopProbe | None]:
    """Probe the running loop for the duration of the block when ``path`` is given."""
    if path is None:
        yield None
        return
    probe = LoopProbe(path)
    probe.start()
    try:
        yield probe
    finally:
        probe.stop()
