"""Week-over-week deltas (``reporting.trends``) and their Markdown/SVG (``trends_render``)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tests.unit.reporting.fixtures import ENTITIES, USERS, enriched, entry
from volt_agent.domain.aggregation import aggregate
from volt_agent.domain.models import EnrichedData, EnrichedEntity
from volt_agent.reporting.html import html_report_chunks, render_html_report
from volt_agent.reporting.trends import compute_trends, no_comparison
from volt_agent.reporting.trends_render import (
    person_trend_section,
    team_trend_section,
    trend_chart_svg,
)

PREV_START, PREV_END = date(2026, 11, 9), date(2026, 11, 15)


def previous_week() -> EnrichedData:
    entries = [
        entry(101, 10, "Fix login #123 [Scrum] [Task] [Moneyball]", 7200, -7 * 24),
        entry(102, 20, "Daily standup", 1800, -7 * 24 + 1),
        entry(103, 30, "Hiring interviews", 6300, -7 * 24 + 2),
    ]
    closed_before = EnrichedEntity(
        type_key="Scrum/Bug",
        public_id="9",
        status="found",
        closed_at=datetime(2026, 11, 10, 9, 0, tzinfo=UTC),
    )
    return EnrichedData(
        aggregated=aggregate(entries, USERS, PREV_START, PREV_END), entities=[closed_before]
    )


def test_deltas_per_person_type_project_and_share() -> None:
    trends = compute_trends(enriched(), previous_week(), "run_week1")
    people = {
        d.key: (d.previous_seconds, d.current_seconds, d.delta_seconds)
        for d in trends.hours_per_person
    }
    # Anna: 3600+1800+900+900+900+3900 = 12000 now, 7200 before.
    assert people["10"] == (7200, 12000, 4800)
    # Boris: 37800+1800+2700+600+900 = 43800 now, 1800 before.
    assert people["20"] == (1800, 43800, 42000)
    # Chen: 6300 now, 6300 before.
    assert people["30"] == (6300, 6300, 0)
    assert trends.hours_per_person[0].key == "20"  # largest current time first
    types = {d.key: d.delta_seconds for d in trends.hours_per_type}
    assert types["Task"] == 3600 + 1800 + 1800 + 2700 - 7200
    assert types["Feature"] == 37800
    projects = {d.key: d.delta_seconds for d in trends.hours_per_project}
    assert projects["Core"] == 37800
    assert trends.previous_start_date == PREV_START
    assert trends.matched_share_previous == round(100 * 7200 / 15300, 1)
    assert trends.matched_share_delta_pp == round(
        trends.matched_share_current - trends.matched_share_previous, 1
    )


def test_newly_closed_leaves_out_entities_already_closed_last_week() -> None:
    closed_now = EnrichedEntity(
        type_key="Scrum/Task",
        public_id="123",
        status="found",
        name="Fix login redirect",
        closed_on=date(2026, 11, 20),
    )
    # #9 is closed this week too in ENTITIES, but also within last week's run: not new.
    reclosed = ENTITIES[1].model_copy(update={"closed_at": datetime(2026, 11, 10, tzinfo=UTC)})
    current = enriched(entities=[closed_now, reclosed, ENTITIES[1]])
    trends = compute_trends(current, previous_week(), "run_week1")
    assert [(c.type_key, c.public_id) for c in trends.newly_closed] == [("Scrum/Task", "123")]


def test_sections_and_chart_show_signed_changes() -> None:
    trends = compute_trends(enriched(), previous_week(), "run_week1")
    team = team_trend_section(trends)
    assert "Compared with run run_week1 (2026-11-09 to 2026-11-15)." in team
    assert "| Boris Petrov | 0.50 | 12.17 | +11.67 h |" in team
    assert "| Chen Li | 1.75 | 1.75 | ±0.00 h |" in team
    person = person_trend_section(trends, 10)
    assert "- Hours: 3.33 h (+1.33 h; previous 2.00 h)" in person
    page = b"".join(html_report_chunks(enriched(), appendix=trend_chart_svg(trends), chunk=64))
    html = page.decode()
    assert html.index('<section id="trend-chart">') < html.index("</main>")
    assert html.replace(trend_chart_svg(trends) + "\n", "") == render_html_report(enriched())
    chart = trend_chart_svg(trends)
    assert chart.count("<rect") == 2 * 3 + 2  # two bars per person and the legend
    assert "<script" not in chart


def test_without_an_earlier_run_one_line_says_why() -> None:
    trends = no_comparison(
        enriched().aggregated, "no completed run covers 2026-11-09 to 2026-11-15"
    )
    assert team_trend_section(trends).splitlines()[2] == (
        "No comparison was possible: no completed run covers 2026-11-09 to 2026-11-15"
    )
    assert "<svg" not in trend_chart_svg(trends)
    assert "No comparison was possible" in person_trend_section(trends, 10)


def test_a_person_new_this_week_has_no_previous_time() -> None:
    before = previous_week()
    before.aggregated.users = [u for u in before.aggregated.users if u.user_id != 20]
    trends = compute_trends(enriched(), before, "run_week1")
    boris = next(d for d in trends.hours_per_person if d.key == "20")
    assert (boris.previous_seconds, boris.delta_seconds) == (0, boris.current_seconds)


def test_a_pipe_in_a_label_does_not_break_the_table() -> None:
    before, now = previous_week(), enriched()
    for user in [*before.aggregated.users, *now.aggregated.users]:
        if user.user_id == 10:
            user.user_name = "Anna | Ops"
    assert "| Anna \\| Ops | 2.00 | 3.33 | +1.33 h |" in team_trend_section(
        compute_trends(now, before, "run_week1")
    )
