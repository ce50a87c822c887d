"""``python -m volt_agent.worker``: the same as ``volt-agent worker``."""

from __future__ import annotations

import sys

from volt_agent.cli import app


def main() -> None:
    app(["worker", *sys.argv[1:]], prog_name="python -m volt_agent.worker")


if __name__ == "__main__":
    main()
