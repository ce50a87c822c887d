"""``InsightSettings`` from the ``reports`` section of the configuration."""

from __future__ import annotations

from collections.abc import Sequence

from volt_agent.config import PersonSchedule, ReportSettings, ScheduleSettings
from volt_agent.domain.schedule import WEEKDAYS, Schedule, WorkPattern
from volt_agent.reporting.insights import InsightSettings


def insight_settings(reports: ReportSettings) -> InsightSettings:
    """The checks ``reports`` asks for: schedule checks only with ``reports.schedule``."""
    return InsightSettings(
        schedule=schedule(reports.schedule) if reports.schedule is not None else None,
        estimate_field=reports.estimate_field,
        estimate_factor=reports.estimate_factor,
    )


def schedule(settings: ScheduleSettings) -> Schedule:
    """The domain schedule; a person's override keeps the team's value for an unset key."""
    team = WorkPattern(settings.hours_per_day, _weekdays(settings.working_days))

    def person(override: PersonSchedule) -> WorkPattern:
        return WorkPattern(
            override.hours_per_day if override.hours_per_day is not None else team.hours_per_day,
            _weekdays(override.working_days)
            if override.working_days is not None
            else team.working_days,
        )

    return Schedule(
        default=team,
        people={email: person(o) for email, o in settings.people.items()},
        holidays=frozenset(settings.holidays),
        under_logging_ratio=settings.under_logging_ratio,
        overtime_ratio=settings.overtime_ratio,
    )


def _weekdays(names: Sequence[str]) -> frozenset[int]:
    return frozenset(WEEKDAYS.index(n) for n in names)
