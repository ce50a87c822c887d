"""Following a run: poll ``get_progress`` and show it live (TTY) or as plain lines (pipes, CI).

Ctrl-C detaches: the workflow keeps running on the server and the caller is told how to
re-attach. Rendering is a pure function of ``Progress`` so it is tested without a terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable, Iterator

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from volt_agent.pipeline.types import Progress

POLL_SECONDS = 0.5


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    total = round(seconds)
    minutes, secs = divmod(total, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def plain_line(progress: Progress) -> str:
    """One line per change, for logs and non-TTY output."""
    rate = f" rate {progress.rate_per_second}/s" if progress.rate_per_second else ""
    return (
        f"[{progress.percentage:5.1f}%] {progress.current_stage}: {progress.current_activity}"
        f" ({progress.activity_index}/{progress.activities_total - 1})"
        f" elapsed {format_duration(progress.elapsed_seconds)}"
        f" eta {format_duration(progress.eta_seconds)}{rate}"
        + (f" · {progress.waiting}" if progress.waiting else "")
    )


def render(progress: Progress) -> Group:
    header = Text.assemble(
        ("volt-agent ", "bold"),
        (progress.run_id, "cyan"),
        f"  stage {progress.current_stage}  ·  activity "
        f"{progress.activity_index}/{progress.activities_total - 1} {progress.current_activity}",
    )
    bar = ProgressBar(total=100, completed=progress.percentage, width=50)
    timing = Text(
        f"{progress.percentage:5.1f}%  elapsed {format_duration(progress.elapsed_seconds)}"
        f"  ETA {format_duration(progress.eta_seconds)}"
        + (f"  {progress.rate_per_second}/s" if progress.rate_per_second else "")
    )
    parts: list[Text | ProgressBar | Table] = [header, bar, timing]
    if progress.waiting:
        parts.append(Text(progress.waiting, style="yellow"))
    if progress.details:
        table = Table("type", "done", "total", box=None, pad_edge=False)
        for key, item in sorted(progress.details.items()):
            table.add_row(key, str(item.done), str(item.total))
        parts.append(table)
    parts.append(Text("q or Ctrl-C detaches; the run continues.", style="dim"))
    return Group(*parts)


class Detached(Exception):  # noqa: N818 - it is an outcome, not an error
    """The user asked to stop following (``q`` or Ctrl-C); the run goes on."""


@contextlib.contextmanager
def detach_key(pressed: asyncio.Event) -> Iterator[None]:
    """Set ``pressed`` when ``q`` is typed on an interactive stdin (no Enter needed)."""
    if not sys.stdin.isatty():
        yield
        return
    import termios  # noqa: PLC0415 - POSIX-only, and only for an interactive terminal
    import tty  # noqa: PLC0415

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    loop = asyncio.get_running_loop()

    def on_input() -> None:
        if os.read(fd, 1).lower() == b"q":
            pressed.set()

    tty.setcbreak(fd)
    loop.add_reader(fd, on_input)
    try:
        yield
    finally:
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


async def follow(
    poll: Callable[[], Awaitable[Progress | None]],
    finished: Callable[[], Awaitable[bool]],
    console: Console,
    *,
    closed: Callable[[], Awaitable[object]] | None = None,
) -> Progress | None:
    """Show progress until ``finished()``; returns the last progress seen.

    ``closed``, when given, returns (or raises) once the run has ended (a long poll such as
    ``WorkflowHandle.result``): the wait between two polls ends then, so the end is shown at
    once instead of up to ``POLL_SECONDS`` later. Raises ``Detached`` when the user types ``q``.
    """
    quit_pressed = asyncio.Event()
    wake = asyncio.Event()
    watcher = asyncio.create_task(_set_when_done(closed, wake)) if closed else None
    try:
        with detach_key(quit_pressed):
            if console.is_terminal:
                return await _follow_live(poll, finished, console, quit_pressed, wake)
            return await _follow_lines(poll, finished, console, quit_pressed, wake)
    finally:
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


async def _set_when_done(closed: Callable[[], Awaitable[object]], wake: asyncio.Event) -> None:
    with contextlib.suppress(Exception):  # a failed or cancelled run has ended too
        await closed()
    wake.set()


async def _pause(quit_pressed: asyncio.Event, wake: asyncio.Event) -> None:
    """``POLL_SECONDS``, or less when ``q`` is typed or ``wake`` is set (the run ended)."""
    if wake.is_set():  # woken, yet the run goes on (its long poll failed): poll as before
        wake.clear()
    waits = [asyncio.ensure_future(event.wait()) for event in (quit_pressed, wake)]
    try:
        await asyncio.wait(waits, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
    if quit_pressed.is_set():
        raise Detached


async def _poll_until_done(
    poll: Callable[[], Awaitable[Progress | None]],
    finished: Callable[[], Awaitable[bool]],
    show: Callable[[Progress], None],
    quit_pressed: asyncio.Event,
    wake: asyncio.Event,
) -> Progress | None:
    last: Progress | None = None
    while True:
        last = await poll() or last
        if last is not None:
            show(last)
        if await finished():
            return last
        await _pause(quit_pressed, wake)


async def _follow_live(
    poll: Callable[[], Awaitable[Progress | None]],
    finished: Callable[[], Awaitable[bool]],
    console: Console,
    quit_pressed: asyncio.Event,
    wake: asyncio.Event,
) -> Progress | None:
    with Live(console=console, refresh_per_second=4, transient=False) as live:
        return await _poll_until_done(
            poll, finished, lambda p: live.update(render(p)), quit_pressed, wake
        )


async def _follow_lines(
    poll: Callable[[], Awaitable[Progress | None]],
    finished: Callable[[], Awaitable[bool]],
    console: Console,
    quit_pressed: asyncio.Event,
    wake: asyncio.Event,
) -> Progress | None:
    """One line whenever the activity changes, another 10 % is done or a wait starts or ends."""
    printed: list[str] = []

    def show(progress: Progress) -> None:
        key = f"{progress.current_activity}{progress.percentage // 10}{progress.waiting}"
        if not printed or printed[-1] != key:
            console.print(plain_line(progress), highlight=False, soft_wrap=True)
            printed.append(key)

    return await _poll_until_done(poll, finished, show, quit_pressed, wake)
