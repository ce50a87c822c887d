"""Hand-built cases for ``missing_days``, ``under_logging``, ``overtime`` and
``over_estimate``, their settings from ``reports`` and their ranking with the other kinds."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from volt_agent.config import ReportSettings, load_settings
from volt_agent.domain.aggregation import aggregate
from volt_agent.domain.models import EnrichedData, EnrichedEntity, TimeEntry, TogglUser
from volt_agent.domain.schedule import Schedule, WorkPattern
from volt_agent.errors import ConfigError
from volt_agent.reporting.insight_config import insight_settings
from volt_agent.reporting.insights import (
    KIND_SEVERITY,
    InsightSettings,
    index_entities,
    rank_insights,
    team_insights,
    user_insights,
)

from .fixtures import END, PERIOD, START, entry

ANNA = TogglUser(id=10, email="anna@example.com", name="anna")
TASK = "Fix login #1 [Scrum] [Task]"
HOUR = 3600
DAY = 24.0  # entry offsets are hours after Monday 2026-11-16 09:00 UTC


def week(hours_per_day: list[float], description: str = "Work") -> list[TimeEntry]:
    """One entry per weekday (Mon..), ``0`` leaves the day empty."""
    return [
        entry(n + 1, 10, description, round(h * HOUR), n * DAY)
        for n, h in enumerate(hours_per_day)
        if h
    ]


def data(entries: list[TimeEntry], entities: list[EnrichedEntity] | None = None) -> EnrichedData:
    return EnrichedData(aggregated=aggregate(entries, [ANNA], START, END), entities=entities or [])


def with_schedule(schedule: Schedule | None = None) -> InsightSettings:
    return InsightSettings(schedule=schedule or Schedule())


def found(d: EnrichedData, settings: InsightSettings) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i in team_insights(d, settings):
        out.setdefault(i.kind, []).append(i.seconds)
    return out


def test_full_week_gives_no_schedule_finding() -> None:
    assert found(data(week([8, 8, 8, 8, 8])), with_schedule()) == {"no_matched_time": [40 * HOUR]}


def test_missing_working_day_and_under_logging() -> None:
    d = data(week([8, 0, 8, 8, 4]))
    result = found(d, with_schedule())
    assert result["missing_days"] == [8 * HOUR]
    assert result["under_logging"] == [12 * HOUR]
    message = next(i for i in team_insights(d, with_schedule()) if i.kind == "missing_days")
    assert "2026-11-17" in message.message


def test_overtime() -> None:
    result = found(data(week([11, 10, 10, 10, 10])), with_schedule())
    assert result["overtime"] == [11 * HOUR]
    assert "missing_days" not in result
    assert "under_logging" not in result


def test_holiday_is_not_a_missing_day_and_lowers_expected_hours() -> None:
    holiday = Schedule(holidays=frozenset({date(2026, 11, 17)}))
    assert found(data(week([8, 0, 8, 8, 8])), with_schedule(holiday)) == {
        "no_matched_time": [32 * HOUR]
    }


def test_per_person_override() -> None:
    part_time = Schedule(
        people={"ANNA@example.com": WorkPattern(hours_per_day=4.0, working_days=frozenset({0, 1}))}
    )
    result = found(data(week([4, 4, 0, 0, 0])), with_schedule(part_time))
    assert "missing_days" not in result
    assert "under_logging" not in result
    assert found(data(week([8, 8, 0, 0, 0])), with_schedule(part_time))["overtime"] == [8 * HOUR]


def test_ratios_are_configurable() -> None:
    lenient = Schedule(under_logging_ratio=0.5, overtime_ratio=2.0)
    assert "under_logging" not in found(data(week([5, 5, 5, 5, 5])), with_schedule(lenient))
    assert "under_logging" in found(data(week([5, 5, 5, 5, 5])), with_schedule())


def test_no_schedule_means_no_schedule_findings() -> None:
    assert found(data(week([1, 0, 0, 0, 0])), InsightSettings()) == {"no_matched_time": [HOUR]}


def test_person_report_gets_schedule_findings_only_with_the_period() -> None:
    d = data(week([8, 0, 8, 8, 8]))
    user = d.aggregated.users[0]
    index = index_entities(d.entities)
    assert [i.kind for i in user_insights(user, index, with_schedule())] == ["no_matched_time"]
    kinds = [i.kind for i in user_insights(user, index, with_schedule(), PERIOD)]
    assert "missing_days" in kinds


def task(public_id: str, estimate: object) -> EnrichedEntity:
    return EnrichedEntity(
        type_key="Scrum/Task",
        public_id=public_id,
        status="found",
        name=f"Task {public_id}",
        state="In Progress",
        assignees=["anna"],
        fields={"estimate": estimate},
    )


def test_entity_over_its_estimate_and_one_under() -> None:
    entries = [
        entry(1, 10, "Over #1 [Scrum] [Task]", 4 * HOUR),
        entry(2, 10, "Under #2 [Scrum] [Task]", 2 * HOUR, 4),
        entry(3, 10, "No estimate #3 [Scrum] [Task]", 9 * HOUR, 6),
    ]
    d = data(entries, [task("1", 2), task("2", 2), task("3", None)])
    over = [
        i
        for i in team_insights(d, InsightSettings(estimate_factor=1.5))
        if i.kind == "over_estimate"
    ]
    assert len(over) == 1
    assert over[0].entity is not None
    assert over[0].entity.public_id == "1"
    assert over[0].seconds == 2 * HOUR
    assert over[0].person is None
    assert over[0].message == (
        "Scrum/Task #1 Task 1 has 4.00 h tracked this period against an estimate of 2.00 h"
        " (more than 1.5 times)"
    )
    assert not [i for i in team_insights(d, InsightSettings()) if i.kind == "over_estimate"]
    strict = InsightSettings(estimate_factor=0.9)
    assert {
        i.entity.public_id
        for i in team_insights(d, strict)
        if i.kind == "over_estimate" and i.entity
    } == {"1", "2"}


def test_new_kinds_rank_with_the_others() -> None:
    assert {
        KIND_SEVERITY[k] for k in ("missing_days", "under_logging", "overtime", "over_estimate")
    } == {"medium"}
    d = data(week([8, 0, 0, 0, 12]))
    ranked = rank_insights(team_insights(d, with_schedule()))
    assert [i.kind for i in ranked] == [
        "no_matched_time",
        "missing_days",
        "under_logging",
        "long_entry",
    ]


def test_settings_from_reports_section() -> None:
    reports = ReportSettings.model_validate(
        {
            "schedule": {
                "hours_per_day": 7.5,
                "working_days": ["mon", "tue", "wed", "thu"],
                "people": {"anna@example.com": {"hours_per_day": 4}},
                "holidays": ["2026-11-19"],
                "under_logging_ratio": 0.7,
            },
            "estimate_factor": 2,
        }
    )
    settings = insight_settings(reports)
    assert settings.estimate_factor == 2
    assert settings.schedule is not None
    anna = settings.schedule.pattern_for("anna@example.com")
    assert anna == WorkPattern(4.0, frozenset({0, 1, 2, 3}))
    assert settings.schedule.default == WorkPattern(7.5, frozenset({0, 1, 2, 3}))
    assert settings.schedule.holidays == frozenset({date(2026, 11, 19)})
    assert insight_settings(ReportSettings()).schedule is None


@pytest.mark.parametrize(
    "schedule",
    [
        {"working_days": ["monday"]},
        {"hours_per_day": 0},
        {"people": {"anna": {}}},
        {"holidays": ["next tuesday"]},
        {"under_logging_ratio": 1.5},
        {"overtime_ratio": 0.5},
    ],
)
def test_bad_schedule_is_rejected(schedule: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="schedule"):
        ReportSettings.model_validate({"schedule": schedule})


def test_bad_schedule_in_config_file_is_a_one_line_error(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("reports:\n  schedule:\n    holidays: [christmas]\n")
    enrichment = tmp_path / "enrichment_config.yaml"
    enrichment.write_text("types: {}\n")
    with pytest.raises(ConfigError, match=r"reports\.schedule\.holidays\.0") as caught:
        load_settings(config, enrichment, env={})
    assert "\n" not in str(caught.value)
