"""Days in reports are each person's local days; a non-admin token's reports say whom they cover."""

from datetime import UTC, date, datetime, timedelta

from volt_agent.domain.aggregation import aggregate
from volt_agent.domain.models import EnrichedData, TimeEntry, TogglUser, Visibility
from volt_agent.reporting.html import render_html_report
from volt_agent.reporting.views import (
    LOCAL_DAYS,
    coverage_note,
    day_totals,
    days_label,
    entity_details,
)
from volt_agent.reporting.writer import TemplateReportWriter

from .mdtables import table

START, END = date(2026, 11, 16), date(2026, 11, 17)
LATE = datetime(2026, 11, 16, 7, 30, tzinfo=UTC)  # 23:30 on the 15th in LA, 13:00 in Kolkata
USERS = [
    TogglUser(id=1, name="Ana West", timezone="America/Los_Angeles"),
    TogglUser(id=2, name="Bo East", timezone="Asia/Kolkata"),
]


def entry(entry_id: int, user_id: int, start: datetime, description: str) -> TimeEntry:
    return TimeEntry(
        id=entry_id,
        user_id=user_id,
        description=description,
        start=start,
        stop=start + timedelta(hours=1),
        seconds=3600,
    )


ENTRIES = [
    entry(1, 1, LATE, "Fix login #123 [Scrum] [Task] [Moneyball]"),
    entry(2, 2, LATE, "Fix login #123 [Scrum] [Task] [Moneyball]"),
    entry(3, 1, LATE + timedelta(days=1), "Standup"),
]


def test_day_totals_use_each_persons_local_day() -> None:
    data = aggregate(ENTRIES, USERS, START, END)
    days = {d.day: (d.seconds, d.people_count) for d in day_totals(data.users)}
    assert days == {date(2026, 11, 15): (3600, 1), date(2026, 11, 16): (7200, 2)}
    ana = next(u for u in data.users if u.user_id == 1)
    (detail,) = entity_details(ana, {})
    assert (detail.first_day, detail.last_day) == (date(2026, 11, 15), date(2026, 11, 15))


def test_days_label_names_one_zone_or_says_each_persons_own() -> None:
    data = aggregate(ENTRIES, USERS, START, END)
    assert days_label(data.users) == LOCAL_DAYS
    assert days_label(data.users[:1]) in {"America/Los_Angeles", "Asia/Kolkata"}
    assert days_label([]) == LOCAL_DAYS


async def test_person_report_shows_days_in_the_persons_zone() -> None:
    data = aggregate(ENTRIES, USERS, START, END)
    ana = next(u for u in data.users if u.user_id == 1)
    report = await TemplateReportWriter().person_report(ana, {}, (START, END))
    assert "days are dates of entry starts in America/Los_Angeles" in report
    rows = table(report, "## Time by day (America/Los_Angeles)")
    assert [(r["Day"], r["Hours"]) for r in rows] == [
        ("2026-11-15 (Sun)", "1.00"),
        ("2026-11-16 (Mon)", "1.00"),
    ]


async def test_summaries_say_days_are_each_persons_local_days() -> None:
    data = aggregate(ENTRIES, USERS, START, END)
    writer = TemplateReportWriter()
    summary = await writer.toggl_summary(data)
    assert "days are each person's local days" in summary
    rows = table(summary, "## Time by day (each person's local days)")
    assert [(r["Day"].split()[0], r["People"]) for r in rows] == [
        ("2026-11-15", "1"),
        ("2026-11-16", "2"),
    ]
    team = await writer.team_report(EnrichedData(aggregated=data))
    assert "days are each person's local days" in team
    assert "each person&#39;s local days" in render_html_report(EnrichedData(aggregated=data))


async def test_reports_of_a_non_admin_token_say_they_cover_only_its_user() -> None:
    seen = Visibility(token_is_admin=False, token_user_id=1, token_user_name="Ana [West]")
    data = aggregate(ENTRIES[:1], USERS, START, END, visibility=seen)
    note = coverage_note(seen)
    assert note.startswith("Covers only Ana \\[West\\]'s own time entries")
    writer = TemplateReportWriter()
    assert f"**{note}**" in await writer.toggl_summary(data)
    assert f"**{note}**" in await writer.team_report(EnrichedData(aggregated=data))
    html = render_html_report(EnrichedData(aggregated=data))
    assert "Covers only Ana [West]&#39;s own time entries" in html


async def test_reports_of_an_admin_token_say_nothing_about_coverage() -> None:
    for seen in (Visibility(token_is_admin=True), Visibility()):
        data = aggregate(ENTRIES, USERS, START, END, visibility=seen)
        assert coverage_note(seen) == ""
        assert "Covers only" not in await TemplateReportWriter().toggl_summary(data)
        assert "Covers only" not in render_html_report(EnrichedData(aggregated=data))
