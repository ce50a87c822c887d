"""Reports from a slim aggregate plus a ``TeamDigest`` (issue 12) are those of the full data.

Two runs: the sandbox workspace generator's (six people in five zones, two of the same name,
two weeks) and the hand-made fixture run with entries whose findings only later entries show
(time after closing, a long entry, a day logged by a group's second entry).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest

from volt_agent.domain.aggregation import aggregate
from volt_agent.domain.models import (
    EnrichedData,
    EnrichedEntity,
    MatchedEntity,
    TimeEntry,
    TogglUser,
    UnmatchedActivity,
)
from volt_agent.domain.rounding import RoundingPolicy, round_aggregate
from volt_agent.domain.schedule import Schedule
from volt_agent.reporting.digest import (
    DigestBuilder,
    RoundedDigest,
    TeamDigest,
    slim_user,
    team_digest,
)
from volt_agent.reporting.html import render_html_report
from volt_agent.reporting.insights import (
    InsightSettings,
    index_entities,
    matched_key,
    team_insights,
)
from volt_agent.reporting.llm import LlmReportWriter
from volt_agent.reporting.llm_context import team_context, toggl_context
from volt_agent.reporting.llm_usage import collect_telemetry
from volt_agent.reporting.views import DayTally, NameTally, day_totals, entity_totals
from volt_agent.reporting.writer import TemplateReportWriter
from volt_agent.sandbox.workspace import WorkspaceSpec, generate_workspace

from .fixtures import END, ENTITIES, ENTRIES, START, USERS, entry
from .test_llm_writer import SETTINGS, ScriptedClient, answer

CONFIGURED = InsightSettings(
    unmatched_share_threshold=0.2,
    long_entry_seconds=2 * 3600,
    schedule=Schedule(),
    estimate_factor=1.0,
)
SETTINGS_CASES = [None, CONFIGURED]


@cache
def workspace_run() -> EnrichedData:
    """The sandbox workspace aggregated, with entities of every status derived from its keys:
    closed with and without a closing date, deleted, failed, estimated, (un)assigned."""
    spec = WorkspaceSpec(users=6, days=14, seed=7)
    ws = generate_workspace(spec)
    users = [
        TogglUser(id=u.id, email=u.email, name=u.fullname, timezone=u.timezone)
        for u in ws.toggl_users
    ]
    entries = [
        TimeEntry(
            id=e.id,
            user_id=e.user_id,
            description=e.description,
            project_id=e.project_id,
            start=e.start,
            stop=e.stop,
            seconds=e.seconds,
        )
        for e in ws.time_entries
    ]
    end = spec.start_date + timedelta(days=spec.days - 1)
    data = aggregate(entries, users, spec.start_date, end)
    keys = sorted({matched_key(m) for u in data.users for m in u.matched})
    closing = datetime.combine(spec.start_date, datetime.min.time(), UTC) + timedelta(days=4)
    entities = []
    for n, (type_key, public_id) in enumerate(keys):
        base = {"type_key": type_key, "public_id": public_id, "name": f"Entity {public_id}"}
        kind = n % 6
        if kind == 0:
            entity = EnrichedEntity(
                **base, status="found", state="Done", closed_at=closing, assignees=["Nobody"]
            )
        elif kind == 1:
            entity = EnrichedEntity(**base, status="not_found")
        elif kind == 2:
            entity = EnrichedEntity(**base, status="error", error="HTTP 500")
        elif kind == 3:
            entity = EnrichedEntity(**base, status="found", state="Closed")  # closing unknown
        elif kind == 4:
            entity = EnrichedEntity(**base, status="found", state="Open", fields={"estimate": 1})
        else:
            assignees = [users[n % len(users)].name]
            entity = EnrichedEntity(**base, status="found", state="Open", assignees=assignees)
        entities.append(entity)
    return EnrichedData(aggregated=data, entities=entities)


def fixture_run() -> EnrichedData:
    """The fixture run plus entries that only count when every entry is read: Anna's bug #9
    first before its closing then after it, Chen's 11 h interview after a short one, Boris's
    second standup alone on its day."""
    extra = [
        entry(101, 10, "Crash on save #9 [Scrum] [Bug] [Moneyball]", 600, 1),
        entry(102, 30, "Hiring interviews", 11 * 3600, 49),
        entry(103, 20, "Daily standup", 1200, 100),
    ]
    data = aggregate([*ENTRIES, *extra], USERS, START, END)
    return EnrichedData(aggregated=data, entities=ENTITIES)


RUNS: dict[str, Callable[[], EnrichedData]] = {"workspace": workspace_run, "fixture": fixture_run}


def built(data: EnrichedData, settings: InsightSettings | None) -> tuple[EnrichedData, TeamDigest]:
    """``data`` with slim people and the digest, built one full person at a time."""
    aggregated = data.aggregated
    builder = DigestBuilder(
        entities=index_entities(data.entities),
        settings=settings,
        period=(aggregated.start_date, aggregated.end_date),
    )
    slim = [builder.add(user) for user in aggregated.users]
    digest = builder.finish(slim)
    slim_aggregated = aggregated.model_copy(update={"users": slim})
    return data.model_copy(update={"aggregated": slim_aggregated}), digest


@pytest.fixture(params=sorted(RUNS))
def run(request: pytest.FixtureRequest) -> EnrichedData:
    return RUNS[request.param]()


def test_a_slim_user_keeps_no_entries_and_every_total() -> None:
    user = next(u for u in fixture_run().aggregated.users if u.user_name == "Anna Schmidt")
    slim = slim_user(user)
    groups: list[MatchedEntity | UnmatchedActivity] = [*user.matched, *user.unmatched]
    slim_groups: list[MatchedEntity | UnmatchedActivity] = [*slim.matched, *slim.unmatched]
    assert sum(len(g.entries) for g in groups) > len(groups)
    assert all(g.entries == [] for g in slim_groups)
    assert [g.model_dump(exclude={"entries"}) for g in slim_groups] == [
        g.model_dump(exclude={"entries"}) for g in groups
    ]
    assert slim.model_dump(exclude={"matched", "unmatched"}) == user.model_dump(
        exclude={"matched", "unmatched"}
    )
    assert slim.matched[0].model_fields_set == user.matched[0].model_fields_set
    names = NameTally()
    names.add(user)
    assert entity_totals([slim], names=names.names()) == entity_totals([user])


def test_slim_people_share_their_repeated_strings() -> None:
    """Also those of people read back from pickles (as ``PersonSlices`` keeps them), which
    ``model_copy`` alone would leave as copies of their own."""
    users = fixture_run().aggregated.users
    slim = [slim_user(pickle.loads(pickle.dumps(u))) for u in users]  # noqa: S301 - our own
    tasks = [m for u in slim for m in u.matched if m.entity_id == "123"]
    assert len(tasks) == 2
    for field in ("entity_id", "database", "entity_type", "project", "name"):
        assert getattr(tasks[0], field) is getattr(tasks[1], field), field
    standups = [a for u in slim for a in u.unmatched if a.description == "Daily standup"]
    assert len(standups) == 3
    assert standups[0].description is standups[1].description is standups[2].description


@pytest.mark.parametrize("settings", SETTINGS_CASES)
def test_the_digest_built_person_by_person_is_that_of_the_full_data(
    run: EnrichedData, settings: InsightSettings | None
) -> None:
    slim, digest = built(run, settings)
    users = run.aggregated.users
    assert digest == team_digest(run, settings)
    assert digest.findings() == team_insights(run, settings)
    assert list(digest.days) == day_totals(users)
    # the slim people alone lose days and findings: the digest is what keeps them
    assert day_totals(slim.aggregated.users) != list(digest.days)
    assert team_insights(slim, settings) != digest.findings()


def test_the_digest_finds_what_only_later_entries_show() -> None:
    digest = team_digest(fixture_run(), CONFIGURED)
    kinds = {i.kind for i in digest.findings()}
    assert {"closed_entity_time", "long_entry", "missing_days"} <= kinds


def test_a_digest_without_insights_has_the_days_and_refuses_a_team_report() -> None:
    data = fixture_run()
    builder = DigestBuilder(insights=False)
    slim = [builder.add(user) for user in data.aggregated.users]
    digest = builder.finish(slim)
    assert digest.packed is None
    assert list(digest.days) == day_totals(data.aggregated.users)
    with pytest.raises(ValueError, match="insights=True"):
        digest.findings()


def test_the_day_tally_adds_up_to_day_totals() -> None:
    users = workspace_run().aggregated.users
    tally = DayTally()
    for user in users:
        tally.add(user)
    assert tally.totals() == day_totals(users)
    assert len({d.day for d in tally.totals()}) > 10


@pytest.mark.parametrize("policy", [RoundingPolicy(), RoundingPolicy("up", 15)])
async def test_toggl_summary_from_slim_people_and_days_is_the_same_text(
    run: EnrichedData, policy: RoundingPolicy
) -> None:
    full = round_aggregate(run.aggregated, policy)
    builder = DigestBuilder(insights=False)
    slim = full.model_copy(update={"users": [builder.add(u) for u in full.users]})
    days = builder.finish(slim.users).days
    writer = TemplateReportWriter()
    expected = await writer.toggl_summary(full)
    assert await writer.toggl_summary(slim, days) == expected
    assert await writer.toggl_summary(slim) != expected  # days of slim people differ


@pytest.mark.parametrize("settings", SETTINGS_CASES)
async def test_team_report_and_html_from_slim_people_and_digest_are_the_same_text(
    run: EnrichedData, settings: InsightSettings | None
) -> None:
    slim, digest = built(run, settings)
    writer = TemplateReportWriter(settings)
    expected = await writer.team_report(run)
    assert await writer.team_report(slim, digest) == expected
    assert await writer.team_report(slim) != expected  # findings of slim people differ
    html = render_html_report(run, settings, rounding="Hours are rounded.")
    assert render_html_report(slim, settings, rounding="Hours are rounded.", digest=digest) == html
    assert render_html_report(slim, settings, rounding="Hours are rounded.") != html


async def test_team_report_with_a_digest_computes_no_findings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slim, digest = built(fixture_run(), CONFIGURED)

    def refuse(*_: object) -> None:
        raise AssertionError("team_insights called despite the digest")

    for module in ("writer", "html", "llm_context"):
        monkeypatch.setattr(f"volt_agent.reporting.{module}.team_insights", refuse)
    await TemplateReportWriter(CONFIGURED).team_report(slim, digest)
    render_html_report(slim, digest=digest)
    team_context(slim, CONFIGURED, digest)


@pytest.mark.parametrize("settings", SETTINGS_CASES)
def test_llm_contexts_from_slim_people_and_digest_are_the_same(
    run: EnrichedData, settings: InsightSettings | None
) -> None:
    slim, digest = built(run, settings)
    insight_settings = settings or InsightSettings()
    assert team_context(slim, insight_settings, digest) == team_context(run, insight_settings)
    assert toggl_context(slim.aggregated, digest.days) == toggl_context(run.aggregated)
    assert toggl_context(slim.aggregated) != toggl_context(run.aggregated)


async def test_llm_writer_asks_and_writes_the_same_from_slim_people_and_digest(
    run: EnrichedData,
) -> None:
    slim, digest = built(run, CONFIGURED)
    answers = [answer(summary="Busy days.", activities="Meetings."), answer(summary="Fine.")]
    reports = []
    prompts = []
    for data, days, team_digest_ in ((run, None, None), (slim, digest.days, digest)):
        client = ScriptedClient(list(answers))
        writer = LlmReportWriter(SETTINGS, client, insight_settings=CONFIGURED)
        with collect_telemetry():
            toggl = await writer.toggl_summary(data.aggregated, days)
            team = await writer.team_report(data, team_digest_)
        reports.append((toggl, team))
        prompts.append(client.prompts)
    assert reports[0] == reports[1]
    assert prompts[0] == prompts[1]
    assert "Busy days." in reports[0][0]


REF_500 = "#500 [Scrum] [Task] [Moneyball]"
NAME_CASES = {
    # Boris (first in report order) starts on #500 after Anna: Anna's name wins
    "earliest person later in report order": (
        [
            entry(40, 20, f"Later text {REF_500}", 3600, 5),
            entry(41, 10, f"Early text {REF_500}", 600, 1),
        ],
        "Early text",
    ),
    # both start on #500 at once: the smaller entry id (Anna's) wins, not the report order
    "tie broken by entry id": (
        [
            entry(41, 20, f"Boris text {REF_500}", 3600, 1),
            entry(40, 10, f"Anna text {REF_500}", 600, 1),
        ],
        "Anna text",
    ),
}


@pytest.mark.parametrize("case", sorted(NAME_CASES))
async def test_an_entity_fibery_did_not_name_is_named_after_the_earliest_entry_across_people(
    case: str,
) -> None:
    extra, name = NAME_CASES[case]
    data = aggregate([*ENTRIES, *extra], USERS, START, END)
    assert [u.user_name for u in data.users][:2] == ["Boris Petrov", "Anna Schmidt"]
    missing = EnrichedEntity(type_key="Scrum/Task", public_id="500", status="not_found")
    run = EnrichedData(aggregated=data, entities=[*ENTITIES, missing])
    slim, digest = built(run, CONFIGURED)
    key = ("Scrum/Task", "500")
    assert digest.names[key] == name
    index = index_entities(run.entities)
    users, slim_users = data.users, slim.aggregated.users
    expected = entity_totals(users, index)
    assert next(t.name for t in expected if t.public_id == "500") == name
    assert entity_totals(slim_users, index, digest.names) == expected
    # slim people alone only know the first group in report order: Boris's
    alone = entity_totals(slim_users, index)
    assert next(t.name for t in alone if t.public_id == "500") != name
    writer = TemplateReportWriter(CONFIGURED)
    report = await writer.team_report(run)
    assert name in report
    assert await writer.team_report(slim, digest) == report
    html = render_html_report(run, CONFIGURED)
    assert render_html_report(slim, CONFIGURED, digest=digest) == html
    assert team_context(slim, CONFIGURED, digest) == team_context(run, CONFIGURED)
    summary = await writer.toggl_summary(data)
    assert name in summary
    assert await writer.toggl_summary(slim.aggregated, digest.days, digest.names) == summary
    assert toggl_context(slim.aggregated, digest.days, digest.names) == toggl_context(data)


@pytest.mark.parametrize("policy", [RoundingPolicy(), RoundingPolicy("up", 15)])
def test_counting_people_whose_slim_form_the_caller_holds_digests_as_adding_them(
    policy: RoundingPolicy,
) -> None:
    data = fixture_run()
    users = data.aggregated.users
    head = data.aggregated.model_copy(update={"users": [slim_user(u) for u in users]})

    def builder() -> RoundedDigest:
        index = index_entities(data.entities)
        return RoundedDigest(policy, DigestBuilder(entities=index, settings=CONFIGURED))

    added, counted = builder(), builder()
    for user in users:
        added.add(user)
        counted.count(user)
    assert counted.finish(head) == added.finish(head)
