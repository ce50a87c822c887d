"""Per-entry rounding of report hours (Toggl's report rounding) with hand-built entries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from volt_agent.domain.aggregation import aggregate
from volt_agent.domain.models import TimeEntry, TogglUser
from volt_agent.domain.rounding import (
    RoundingPolicy,
    policy_line,
    round_aggregate,
    round_seconds,
)

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
MIN = 60


def policy(mode: str, minutes: int = 15) -> RoundingPolicy:
    return RoundingPolicy(mode, minutes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mode", "seconds", "expected"),
    [
        ("up", 1, 15 * MIN),
        ("up", 16 * MIN, 30 * MIN),
        ("down", 16 * MIN, 15 * MIN),
        ("down", 14 * MIN + 59, 0),
        ("nearest", 7 * MIN + 29, 0),
        ("nearest", 7 * MIN + 30, 15 * MIN),  # exactly halfway rounds up
        ("nearest", 22 * MIN + 29, 15 * MIN),
        ("nearest", 22 * MIN + 30, 30 * MIN),
        ("none", 16 * MIN + 7, 16 * MIN + 7),
    ],
)
def test_round_seconds_each_mode(mode: str, seconds: int, expected: int) -> None:
    assert round_seconds(seconds, policy(mode)) == expected


@pytest.mark.parametrize("mode", ["none", "up", "nearest", "down"])
def test_an_exact_multiple_and_a_zero_entry_are_unchanged(mode: str) -> None:
    assert round_seconds(30 * MIN, policy(mode)) == 30 * MIN
    assert round_seconds(6 * MIN, policy(mode, 6)) == 6 * MIN
    assert round_seconds(0, policy(mode)) == 0


def test_one_minute_interval_rounds_seconds_away() -> None:
    assert round_seconds(61, policy("up", 1)) == 120
    assert round_seconds(61, policy("down", 1)) == 60
    assert round_seconds(89, policy("nearest", 1)) == 60
    assert round_seconds(90, policy("nearest", 1)) == 120


def test_a_policy_below_one_minute_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RoundingPolicy("up", 0)


def _entry(entry_id: int, description: str, seconds: int, offset_h: int = 0) -> TimeEntry:
    start = T0 + timedelta(hours=offset_h)
    return TimeEntry(
        id=entry_id,
        user_id=1,
        description=description,
        start=start,
        stop=start + timedelta(seconds=seconds),
        seconds=seconds,
    )


def test_round_aggregate_rounds_each_entry_before_summing() -> None:
    entries = [
        _entry(1, "Fix #1 [Scrum] [Task]", 1 * MIN),
        _entry(2, "Fix #1 [Scrum] [Task]", 1 * MIN, 1),
        _entry(3, "Standup", 16 * MIN, 2),
        _entry(4, "Standup", 0, 3),
    ]
    raw = aggregate(entries, [TogglUser(id=1, name="A")], date(2026, 11, 16), date(2026, 11, 22))
    rounded = round_aggregate(raw, policy("up"))
    user = rounded.users[0]
    # per entry: 2 x 1 min -> 2 x 15 min, not (2 min -> 15 min) as a grouped rounding would
    assert user.matched[0].seconds == 30 * MIN
    assert [r.seconds for r in user.matched[0].entries] == [15 * MIN, 15 * MIN]
    assert user.unmatched[0].seconds == 30 * MIN
    assert user.total_seconds == 60 * MIN
    assert rounded.statistics.total_seconds == 60 * MIN
    assert rounded.statistics.matched_seconds == 30 * MIN
    assert rounded.statistics.entry_count == 4
    # the raw aggregate is untouched
    assert raw.users[0].total_seconds == 18 * MIN
    assert raw.statistics.total_seconds == 18 * MIN
    assert round_aggregate(raw, policy("none")) is raw


def test_policy_line_names_rule_interval_and_raw_artifact() -> None:
    assert policy_line(policy("up")) == (
        "Hours rounded up to 15 minutes per entry (Toggl's rounding); raw totals in"
        " toggl_aggregated.json."
    )
    assert "rounded to the nearest 1 minute per entry" in policy_line(policy("nearest", 1))
    assert "rounded down to 60 minutes" in policy_line(policy("down", 60))
    assert "not rounded" in policy_line(policy("none"))
