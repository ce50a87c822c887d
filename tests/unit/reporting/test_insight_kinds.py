"""One hand-built case per insight kind, the closed-before/after pair, the email-vs-name
assignee pair, and the ranking limits of the team and person reports."""

from __future__ import annotations

from datetime import UTC, date, datetime

from volt_agent.domain.aggregation import aggregate
from volt_agent.domain.models import EnrichedData, EnrichedEntity, TimeEntry, TogglUser
from volt_agent.reporting.insights import (
    Insight,
    closing_unknown,
    index_entities,
    rank_insights,
    team_insights,
    user_insights,
)
from volt_agent.reporting.writer import TemplateReportWriter

from .fixtures import END, PERIOD, START, entry

ANNA = TogglUser(id=10, email="anna@example.com", name="anna.s")
TASK = "Fix login #1 [Scrum] [Task]"


def task(**fields: object) -> EnrichedEntity:
    values: dict[str, object] = {
        "type_key": "Scrum/Task",
        "public_id": "1",
        "status": "found",
        "name": "Fix login",
        "state": "In Progress",
        "assignees": ["Anna Schmidt"],
        "assignee_emails": ["anna@example.com"],
    }
    values.update(fields)
    return EnrichedEntity.model_validate(values)


def data(
    entries: list[TimeEntry], entities: list[EnrichedEntity], users: list[TogglUser] | None = None
) -> EnrichedData:
    return EnrichedData(
        aggregated=aggregate(entries, users or [ANNA], START, END), entities=entities
    )


def kinds(found: list[Insight]) -> list[str]:
    return [i.kind for i in found]


# entry offsets are hours after 2026-11-16 09:00 UTC
ON_TUESDAY = 24.0
ON_THURSDAY = 72.0


def test_time_before_closing_is_no_finding_and_after_is() -> None:
    closed = task(state="Done", closed_at=datetime(2026, 11, 18, 12, 0, tzinfo=UTC))
    before = data([entry(1, 10, TASK, 3600, ON_TUESDAY)], [closed])
    assert kinds(team_insights(before)) == []
    after = data(
        [entry(1, 10, TASK, 3600, ON_TUESDAY), entry(2, 10, TASK, 1800, ON_THURSDAY)], [closed]
    )
    [finding] = team_insights(after)
    assert (finding.kind, finding.severity, finding.seconds) == ("closed_entity_time", "high", 1800)
    assert "after it was closed (Done since 2026-11-18)" in finding.message


def test_a_closing_day_without_time_counts_the_whole_day_as_before() -> None:
    closed = task(state="Done", closed_on=date(2026, 11, 17))
    same_day = data([entry(1, 10, TASK, 3600, ON_TUESDAY)], [closed])
    assert kinds(team_insights(same_day)) == []
    next_day = data([entry(1, 10, TASK, 3600, ON_TUESDAY + 24)], [closed])
    assert kinds(team_insights(next_day)) == ["closed_entity_time"]


def test_unknown_closing_date_is_said_once_not_per_person() -> None:
    boris = TogglUser(id=20, email="boris@example.com", name="Boris Petrov")
    closed = task(state="Done", assignees=[], assignee_emails=[])
    run = data(
        [entry(1, 10, TASK, 3600), entry(2, 20, TASK, 3600, 2)], [closed], users=[ANNA, boris]
    )
    assert "closed_entity_time" not in kinds(team_insights(run))
    assert [str(k) for k in closing_unknown(run)] == ["Scrum/Task#1"]


def test_deleted_and_failed_entities() -> None:
    run = data(
        [entry(1, 10, TASK, 600), entry(2, 10, "Other #2 [Scrum] [Task]", 1200, 1)],
        [
            EnrichedEntity(type_key="Scrum/Task", public_id="1", status="not_found"),
            EnrichedEntity(type_key="Scrum/Task", public_id="2", status="error", error="HTTP 503"),
        ],
    )
    found = team_insights(run)
    assert {(i.kind, i.severity, i.seconds) for i in found} == {
        ("deleted_entity_time", "high", 600),
        ("entity_error_time", "low", 1200),
    }


def test_assignee_matches_email_before_name() -> None:
    same_email = data([entry(1, 10, TASK, 3600)], [task()])
    assert kinds(team_insights(same_email)) == []
    other_email = data(
        [entry(1, 10, TASK, 3600)],
        [task(assignees=["Anna Schmidt"], assignee_emails=["anna.schmidt@elsewhere.com"])],
    )
    [finding] = team_insights(other_email)
    assert (finding.kind, finding.severity) == ("not_assignee", "medium")
    assert "(Anna Schmidt)" in finding.message


def test_assignee_falls_back_to_the_name() -> None:
    named = TogglUser(id=10, email="a@toggl.example", name="Anna Schmidt")
    run = data([entry(1, 10, TASK, 3600)], [task(assignee_emails=[])], users=[named])
    assert kinds(team_insights(run)) == []


def test_no_assignee() -> None:
    run = data([entry(1, 10, TASK, 3600)], [task(assignees=[], assignee_emails=[])])
    [finding] = team_insights(run)
    assert (finding.kind, finding.severity, finding.seconds) == ("no_assignee", "low", 3600)


def test_unmatched_share_no_matched_time_and_long_entry() -> None:
    boris = TogglUser(id=20, email="boris@example.com", name="Boris Petrov")
    run = data(
        [
            entry(1, 10, TASK, 3600),
            entry(2, 10, "Meetings", 7200, 2),
            entry(3, 20, "Travel", 11 * 3600, 1),
        ],
        [task()],
        users=[ANNA, boris],
    )
    found = {(i.kind, i.person, i.severity, i.seconds) for i in team_insights(run)}
    assert found == {
        ("high_unmatched_share", "anna.s", "medium", 7200),
        ("no_matched_time", "Boris Petrov", "high", 11 * 3600),
        ("long_entry", "Boris Petrov", "medium", 11 * 3600),
    }


def many_findings() -> EnrichedData:
    """12 entities not in Fibery, so 12 high findings of 1..12 quarter hours."""
    entries = [
        entry(n, 10, f"Gone {n} #{n} [Scrum] [Task]", 900 * n, n * 0.1) for n in range(1, 13)
    ]
    entities = [
        EnrichedEntity(type_key="Scrum/Task", public_id=str(n), status="not_found")
        for n in range(1, 13)
    ]
    return data(entries, entities)


def test_ranking_is_severity_then_hours() -> None:
    run = data(
        [entry(1, 10, TASK, 900), entry(2, 10, "Other #2 [Scrum] [Task]", 7200, 1)],
        [task(assignees=[], assignee_emails=[]), task(public_id="2", status="not_found")],
    )
    ranked = rank_insights(team_insights(run))
    assert [(i.severity, i.seconds) for i in ranked] == [("high", 7200), ("low", 900)]
    assert ranked[0].score == 2.0


async def test_team_summary_shows_top_ten_and_person_report_top_five() -> None:
    run = many_findings()
    team = await TemplateReportWriter().team_report(run)
    gaps = team.split("## Gaps and unusual patterns")[1].split("## Individual reports")[0]
    listed = [line for line in gaps.splitlines() if line.startswith("- **")]
    assert len(listed) == 10
    assert "12 h" not in listed[0]
    assert "(deleted_entity_time, 3.00 h)" in listed[0]
    assert "Time on entities not found in Fibery (deleted) 12." in gaps
    assert "2 more in report.html." in gaps
    [user] = run.aggregated.users
    assert len(user_insights(user, index_entities(run.entities))) == 12
    person = await TemplateReportWriter().person_report(user, index_entities(run.entities), PERIOD)
    unusual = person.split("## What looks unusual")[1]
    assert len([line for line in unusual.splitlines() if line.startswith("- **")]) == 5
    assert "7 more in report.html." in unusual


async def test_accomplishments_are_entities_closed_within_the_period() -> None:
    inside = task(state="Done", closed_at=datetime(2026, 11, 18, 12, 0, tzinfo=UTC))
    earlier = task(public_id="2", state="Done", closed_on=date(2026, 11, 2))
    unknown = task(public_id="3", state="Done")
    run = data(
        [
            entry(1, 10, TASK, 3600, ON_TUESDAY),
            entry(2, 10, "Old #2 [Scrum] [Task]", 1800, ON_TUESDAY + 1),
            entry(3, 10, "Other #3 [Scrum] [Task]", 900, ON_TUESDAY + 2),
        ],
        [inside, earlier, unknown],
    )
    team = await TemplateReportWriter().team_report(run)
    done = team.split("## Accomplishments")[1].split("## Focus areas")[0]
    assert "| Scrum/Task | #1 | Fix login | Done | 2026-11-18 | 1.00 |" in done
    assert "#2 |" not in done
    assert "#3 |" not in done
    assert "Closed now, closing date unknown (1," in done
    assert "Scrum/Task #3" in done
    [after] = team_insights(run)
    assert (after.kind, after.entity and after.entity.public_id) == ("closed_entity_time", "2")
