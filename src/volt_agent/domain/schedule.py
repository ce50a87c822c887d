"""Expected working time against logged time, per person, on their own local days.

Pure. A person's working days are the days of the run's range whose weekday is one of their
working days and that are not public holidays; each is expected to carry ``hours_per_day``.
Logged time counts every entry of the person (matched or not) on its local start day in the
person's zone, so a day is "missing" when no entry starts on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from volt_agent.domain.local_time import local_date
from volt_agent.domain.models import UserAggregate

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names in ``date.weekday()`` order."""


@dataclass(frozen=True)
class WorkPattern:
    """How much one person is expected to work: hours on each of their working weekdays
    (``date.weekday()`` numbers, Monday 0)."""

    hours_per_day: float = 8.0
    working_days: frozenset[int] = frozenset(range(5))


@dataclass(frozen=True)
class Schedule:
    """The team's pattern, per-person overrides by email (compared case-insensitively) and
    public holidays; a person is under-logging below ``under_logging_ratio`` x expected and
    working overtime above ``overtime_ratio`` x expected."""

    default: WorkPattern = field(default_factory=WorkPattern)
    people: Mapping[str, WorkPattern] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    under_logging_ratio: float = 0.8
    overtime_ratio: float = 1.2

    def pattern_for(self, email: str | None) -> WorkPattern:
        if email:
            wanted = email.strip().casefold()
            for known, pattern in self.people.items():
                if known.strip().casefold() == wanted:
                    return pattern
        return self.default


@dataclass(frozen=True)
class PersonSchedule:
    """One person's expected and logged time over a range."""

    working_days: tuple[date, ...]
    missing_days: tuple[date, ...]
    """Working days on which no entry starts."""
    expected_seconds: int
    logged_seconds: int
    hours_per_day: float

    @property
    def missing_seconds(self) -> int:
        """The expected time of the missing days."""
        return round(len(self.missing_days) * self.hours_per_day * 3600)


def working_days(
    pattern: WorkPattern, holidays: frozenset[date], start: date, end: date
) -> list[date]:
    """The days of ``[start, end]`` on ``pattern``'s weekdays that are not holidays."""
    days = (start + timedelta(days=n) for n in range((end - start).days + 1))
    return [d for d in days if d.weekday() in pattern.working_days and d not in holidays]


def logged_by_day(user: UserAggregate) -> dict[date, int]:
    """Seconds per local day (the person's zone) of every entry, matched or not."""
    by_day: dict[date, int] = {}
    refs = [r for m in user.matched for r in m.entries]
    refs += [r for a in user.unmatched for r in a.entries]
    for ref in refs:
        day = local_date(ref.start, user.timezone)
        by_day[day] = by_day.get(day, 0) + ref.seconds
    return by_day


def person_schedule(
    user: UserAggregate, schedule: Schedule, start: date, end: date
) -> PersonSchedule:
    """``user``'s expected time over ``[start, end]`` (their pattern, minus holidays) and the
    time they logged (``total_seconds``: every entry of the run)."""
    pattern = schedule.pattern_for(user.email)
    days = working_days(pattern, schedule.holidays, start, end)
    logged = logged_by_day(user)
    return PersonSchedule(
        working_days=tuple(days),
        missing_days=tuple(d for d in days if logged.get(d, 0) <= 0),
        expected_seconds=round(len(days) * pattern.hours_per_day * 3600),
        logged_seconds=user.total_seconds,
        hours_per_day=pattern.hours_per_day,
    )
