"""What every ``volt-agent`` command shares: consoles, option types and the error boundary.

Domain errors become one-line messages and exit code 2 here, and only here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from volt_agent.config import Settings, load_settings
from volt_agent.errors import VoltAgentError

T = TypeVar("T")

console = Console(soft_wrap=True)
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="config.yaml (enrichment_config.yaml is read beside it)."),
]
OutputDirOption = Annotated[
    Path | None, typer.Option(help="Where run folders are (default: output_dir in config).")
]
RecordOption = Annotated[
    Path | None,
    typer.Option(
        "--record",
        metavar="DIR",
        help="Save every Toggl/Fibery request and answer in DIR, tokens, emails and names"
        " masked (to attach to a bug report).",
    ),
]


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; volt-agent errors end the command with one line, exit 2."""
    try:
        return asyncio.run(coro)
    except VoltAgentError as exc:
        fail(str(exc))


def settings_from(config: Path | None, output_dir: Path | None = None) -> Settings:
    try:
        settings = load_settings(config)
    except VoltAgentError as exc:
        fail(str(exc))
    if output_dir is not None:
        settings = settings.model_copy(update={"output_dir": output_dir})
    return settings


def exit_code_of(exc: SystemExit) -> int:
    """The process exit code a ``SystemExit`` stands for (a message means 1, printed)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def run_and_exit(command: Callable[[], object]) -> NoReturn:
    """Run a CLI entry point, then end the process without interpreter teardown.

    The Temporal SDK's Rust core keeps threads that can call into Python while the interpreter
    finalizes, which aborts a finished command with "Fatal Python error: PyGILState_Release"
    (temporalio/sdk-python issue #300). Every output is flushed and every log handler closed
    first; then ``os._exit`` ends the process with the command's exit code.
    """
    try:
        command()
        code = 0
    except SystemExit as exc:
        code = exit_code_of(exc)
    except KeyboardInterrupt:
        code = 130
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(ValueError, OSError):
            stream.flush()
    os._exit(code)
