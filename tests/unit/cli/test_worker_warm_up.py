"""The long-lived worker imports httpx's transports before its first activity, off the loop."""

from __future__ import annotations

import json
import subprocess
import sys

MODULES = ["httpcore", "h11", "anyio._backends._asyncio"]
SCRIPT = f"""
import json, sys
from volt_agent import runner
before = [m in sys.modules for m in {MODULES!r}]
runner._warm_up_http()
print(json.dumps([before, [m in sys.modules for m in {MODULES!r}]]))
"""


def test_the_warm_up_imports_what_the_first_request_would_import_on_the_loop() -> None:
    out = subprocess.run(  # noqa: S603 - a fresh interpreter of ours: nothing imported yet
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    assert before == [False, False, False]
    assert after == [True, True, True]
