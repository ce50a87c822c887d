"""Reports of a run with rounding: the policy line is there and every total is rounded."""

from __future__ import annotations

import asyncio
import math

from tests.unit.reporting.fixtures import ENTRIES, PERIOD, aggregated, enriched
from volt_agent.domain.rounding import RoundingPolicy, policy_line, round_aggregate
from volt_agent.reporting.html import render_html_report
from volt_agent.reporting.markdown import fmt_hours
from volt_agent.reporting.policy import with_policy_line
from volt_agent.reporting.writer import TemplateReportWriter

UP_HOUR = RoundingPolicy("up", 60)
LINE = "Hours rounded up to 60 minutes per entry (Toggl's rounding); raw totals in"


def _rounded_total(entries: list[int]) -> int:
    return sum(math.ceil(s / 3600) * 3600 for s in entries)


def test_toggl_summary_states_the_policy_and_sums_rounded_entries() -> None:
    rounded = round_aggregate(aggregated(), UP_HOUR)
    text = asyncio.run(TemplateReportWriter().toggl_summary(rounded))
    report = with_policy_line(text, UP_HOUR)
    expected = _rounded_total([e.seconds for e in ENTRIES])
    assert expected != sum(e.seconds for e in ENTRIES)
    assert f"- Total: {fmt_hours(expected)} h in {len(ENTRIES)} entries" in report
    lines = report.split("\n")
    assert lines[0].startswith("# Toggl time summary")
    assert lines[2].startswith(LINE)
    assert report.count(LINE) == 1


def test_person_and_team_reports_state_the_policy() -> None:
    writer = TemplateReportWriter()
    data = enriched()
    rounded = data.model_copy(update={"aggregated": round_aggregate(data.aggregated, UP_HOUR)})
    user = rounded.aggregated.users[0]
    own = [e.seconds for e in ENTRIES if e.user_id == user.user_id]
    person = with_policy_line(asyncio.run(writer.person_report(user, {}, PERIOD)), UP_HOUR)
    assert LINE in person
    assert f"Tracked {fmt_hours(_rounded_total(own))} h" in person
    team = with_policy_line(asyncio.run(writer.team_report(rounded)), UP_HOUR)
    assert LINE in team


def test_no_rounding_leaves_a_report_unchanged() -> None:
    text = asyncio.run(TemplateReportWriter().toggl_summary(aggregated()))
    assert with_policy_line(text, RoundingPolicy()) == text
    assert round_aggregate(aggregated(), RoundingPolicy()) == aggregated()


def test_report_html_states_the_policy_only_when_rounding() -> None:
    data = enriched()
    rounded = data.model_copy(update={"aggregated": round_aggregate(data.aggregated, UP_HOUR)})
    html = render_html_report(rounded, rounding=policy_line(UP_HOUR))
    assert LINE in html.replace("&#39;", "'")
    total = _rounded_total([e.seconds for e in ENTRIES])
    assert f"{fmt_hours(total)} h" in html
    assert "per entry" not in render_html_report(data)
