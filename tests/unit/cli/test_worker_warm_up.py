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


def test_the_warm_up_compiles_every_report_template_once_for_the_process() -> None:
    from volt_agent import runner  # noqa: PLC0415 - after the subprocess test's fresh start
    from volt_agent.reporting.html import html_environment  # noqa: PLC0415
    from volt_agent.reporting.writer import (  # noqa: PLC0415
        REPORT_TEMPLATES,
        TemplateReportWriter,
        template_environment,
    )

    template_environment.cache_clear()
    html_environment.cache_clear()
    runner._warm_up()
    env = template_environment()
    assert env.cache is not None
    assert set(REPORT_TEMPLATES) <= {k[1] for k in env.cache.keys()}  # noqa: SIM118 - an LRUCache
    assert TemplateReportWriter()._env is env  # the writers render from the warmed templates
    page_cache = html_environment().cache
    assert page_cache is not None
    assert "report.html.j2" in {k[1] for k in page_cache.keys()}  # noqa: SIM118
