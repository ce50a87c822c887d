"""``run_and_exit``: the command's exit code and output survive skipping interpreter teardown."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import logging, sys
from volt_agent.cli_support import run_and_exit

def command():
    print("out", end="")
    print("err", end="", file=sys.stderr)
    logging.getLogger("t").warning("logged")
    {body}

logging.basicConfig(stream=sys.stderr, format="|%(message)s")
run_and_exit(command)
"""


@pytest.mark.parametrize(
    ("body", "code", "stderr_tail"),
    [
        ("return None", 0, ""),
        ("sys.exit(2)", 2, ""),
        ("sys.exit('bad thing')", 1, "bad thing\n"),
        ("raise KeyboardInterrupt", 130, ""),
    ],
)
def test_exit_code_and_flushed_output(body: str, code: int, stderr_tail: str) -> None:
    done = subprocess.run(  # noqa: S603  # our own interpreter and script
        [sys.executable, "-c", SCRIPT.format(body=body)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == code, done.stderr
    assert done.stdout == "out"  # written without a newline: only a flush gets it out
    assert done.stderr == "err|logged\n" + stderr_tail
