"""Working days, logged time per local day and expected hours of ``domain.schedule``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from volt_agent.domain.models import EntryRef, UnmatchedActivity, UserAggregate
from volt_agent.domain.schedule import (
    Schedule,
    WorkPattern,
    logged_by_day,
    person_schedule,
    working_days,
)

MON, SUN = date(2026, 11, 16), date(2026, 11, 22)


def user(starts: list[datetime], seconds: int = 3600, zone: str | None = None) -> UserAggregate:
    refs = [
        EntryRef(
            id=n, start=s, stop=s + timedelta(seconds=seconds), seconds=seconds, description="x"
        )
        for n, s in enumerate(starts)
    ]
    return UserAggregate(
        user_id=1,
        user_name="anna",
        email="Anna@Example.com",
        timezone=zone,
        total_seconds=seconds * len(refs),
        matched_seconds=0,
        unmatched_seconds=seconds * len(refs),
        entry_count=len(refs),
        unmatched=[
            UnmatchedActivity(
                description="x", seconds=seconds * len(refs), entry_count=len(refs), entries=refs
            )
        ],
    )


def test_working_days_skip_weekends_and_holidays() -> None:
    days = working_days(WorkPattern(), frozenset({date(2026, 11, 18)}), MON, SUN)
    assert days == [date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 19), date(2026, 11, 20)]


def test_logged_by_day_uses_the_persons_local_day() -> None:
    late = datetime(2026, 11, 16, 23, 30, tzinfo=UTC)
    assert logged_by_day(user([late])) == {date(2026, 11, 16): 3600}
    assert logged_by_day(user([late], zone="Europe/Berlin")) == {date(2026, 11, 17): 3600}


def test_person_override_by_email_case_insensitive() -> None:
    schedule = Schedule(people={"anna@example.com": WorkPattern(6.0, frozenset({0, 1, 2}))})
    plan = person_schedule(user([datetime(2026, 11, 16, 9, tzinfo=UTC)]), schedule, MON, SUN)
    assert plan.working_days == (date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 18))
    assert plan.missing_days == (date(2026, 11, 17), date(2026, 11, 18))
    assert plan.expected_seconds == 3 * 6 * 3600
    assert plan.missing_seconds == 2 * 6 * 3600
    assert plan.logged_seconds == 3600
