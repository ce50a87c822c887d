"""Following a run: poll ``get_progress`` and show it live (TTY) or as plain lines (pipes, CI).

Ctrl-C detaches: the workflow keeps running on the server and the caller is told how to
re-attach. Rendering is a pure function of ``Progress`` so it is tested without a terminal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

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
    if progress.details:
        table = Table("type", "done", "total", box=None, pad_edge=False)
        for key, item in sorted(progress.details.items()):
            table.add_row(key, str(item.done), str(item.total))
        parts.append(table)
    parts.append(Text("Ctrl-C detaches; the run continues.", style="dim"))
    return Group(*parts)


async def follow(
    poll: Callable[[], Awaitable[Progress | None]],
    finished: Callable[[], Awaitable[bool]],
    console: Console,
) -> Progress | None:
    """Show progress until ``finished()``; returns the last progress seen."""
    last: Progress | None = None
    if console.is_terminal:
        with Live(console=console, refresh_per_second=4, transient=False) as live:
            while True:
                last = await poll() or last
                if last is not None:
                    live.update(render(last))
                if await finished():
                    break
                await asyncio.sleep(POLL_SECONDS)
        return last
    printed = ""
    while True:
        last = await poll() or last
        if last is not None:
            line = plain_line(last)
            key = f"{last.current_activity}{last.percentage // 10}"
            if key != printed:
                console.print(line, highlight=False, soft_wrap=True)
                printed = key
        if await finished():
            return last
        await asyncio.sleep(POLL_SECONDS)
