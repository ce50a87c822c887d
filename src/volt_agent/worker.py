"""``python -m volt_agent.worker``: the same as ``volt-agent worker``."""

from __future__ import annotations

import sys

from volt_agent.cli import app
from volt_agent.cli_support import run_and_exit


def main() -> None:
    run_and_exit(lambda: app(["worker", *sys.argv[1:]], prog_name="python -m volt_agent.worker"))


if __name__ == "__main__":
    main()
