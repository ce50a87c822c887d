"""Snapshot of every report for the fixture run in ``fixtures.py``.

After an intended change to the reports, regenerate the expected files and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/reporting/test_golden.py
"""

import os
from pathlib import Path

from volt_agent.reporting.insights import index_entities
from volt_agent.reporting.writer import TemplateReportWriter
from volt_agent.storage.run_folder import user_slug

from .fixtures import PERIOD, enriched

GOLDEN = Path(__file__).parent / "golden"


async def render_all() -> dict[str, str]:
    data = enriched()
    writer = TemplateReportWriter()
    index = index_entities(data.entities)
    reports = {
        "toggl_summary.md": await writer.toggl_summary(data.aggregated),
        "team_summary.md": await writer.team_report(data),
    }
    for user in data.aggregated.users:
        slug = user_slug(user.user_name, user.user_id)
        reports[f"individual/{slug}.md"] = await writer.person_report(user, index, PERIOD)
    return reports


async def test_reports_match_golden_files() -> None:
    reports = await render_all()
    if os.environ.get("UPDATE_GOLDEN") == "1":
        for stale in GOLDEN.rglob("*.md"):
            stale.unlink()
        for name, text in reports.items():
            target = GOLDEN / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    on_disk = {p.relative_to(GOLDEN).as_posix() for p in GOLDEN.rglob("*.md")}
    assert on_disk == set(reports), "golden files out of date: rerun with UPDATE_GOLDEN=1"
    for name, text in reports.items():
        expected = (GOLDEN / name).read_text(encoding="utf-8")
        assert text == expected, f"{name} differs from golden: rerun with UPDATE_GOLDEN=1"
