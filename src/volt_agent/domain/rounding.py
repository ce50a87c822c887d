"""Rounding of entry durations for reports, the way Toggl Track rounds in its reports.

Sources:

- Toggl Track help, "Rounding" (https://support.toggl.com/rounding): three rules, "Round Up
  To", "Round to Nearest", "Round Down To"; intervals 1, 5, 6, 10, 12, 15, 30 minutes, 1 hour
  and 4 hours; applied to individual entries ("each time entry has the rounding setting
  applied to it separately") or to groups (the group's unrounded sum is rounded).
- Toggl Track help, workspace settings (https://support.toggl.com/category/settings/):
  "When adding up the durations of several time entries, the duration of each entry is
  rounded separately in Reports."
- Reports API v3 (swagger copy ``CrazyForks/OpenToggl`` ``openapi/toggl-reports-v3.swagger.json``):
  body field ``rounding`` "How the rounding is done: 1 is rounding up, -1 down, 0 for no
  rounding" and ``rounding_minutes`` "Rounding amount in minutes" (default 1). The API has
  no "nearest"; the web app has.

volt-agent rounds per entry only (the documented default of the reports' totals), then sums
the rounded entries. Edge cases, which the sources do not spell out and we fix here:

- an entry of exactly a multiple of the interval is unchanged in every mode;
- a 0-second entry stays 0 in every mode (0 is a multiple of any interval);
- ``down`` turns an entry shorter than the interval into 0;
- ``nearest`` rounds a duration exactly halfway between two multiples up (7 min 30 s at
  15 minutes becomes 15 minutes).

Pure: seconds in, seconds out; the aggregate is rebuilt with rounded entry seconds so that
every figure derived from it (totals, shares, days) is the sum of rounded entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from volt_agent.domain.models import (
    AggregationStatistics,
    EntryRef,
    MatchedEntity,
    TogglAggregated,
    UnmatchedActivity,
    UserAggregate,
)

RoundingMode = Literal["none", "up", "nearest", "down"]
TOGGL_INTERVALS = (1, 5, 6, 10, 12, 15, 30, 60, 240)
"""The intervals (minutes) Toggl Track's report rounding offers."""


@dataclass(frozen=True)
class RoundingPolicy:
    mode: RoundingMode = "none"
    minutes: int = 15

    def __post_init__(self) -> None:
        if self.minutes < 1:
            raise ValueError(f"rounding minutes must be at least 1, not {self.minutes}")

    @property
    def active(self) -> bool:
        return self.mode != "none"


def round_seconds(seconds: int, policy: RoundingPolicy) -> int:
    """``seconds`` rounded to a multiple of ``policy.minutes`` (unchanged when ``none``)."""
    if not policy.active or seconds <= 0:
        return seconds
    step = policy.minutes * 60
    whole, rest = divmod(seconds, step)
    if rest == 0:
        return seconds
    if policy.mode == "up":
        return (whole + 1) * step
    if policy.mode == "down":
        return whole * step
    return (whole + 1) * step if 2 * rest >= step else whole * step


def policy_line(policy: RoundingPolicy, raw_artifact: str = "toggl_aggregated.json") -> str:
    """One sentence for every report saying how its hours were rounded."""
    if not policy.active:
        return "Hours are not rounded: each entry counts to the second."
    unit = f"{policy.minutes} minute{'s' if policy.minutes != 1 else ''}"
    rule = {"up": "rounded up to", "down": "rounded down to", "nearest": "rounded to the nearest"}
    return (
        f"Hours {rule[policy.mode]} {unit} per entry (Toggl's rounding); raw totals in"
        f" {raw_artifact}."
    )


def _refs(refs: Sequence[EntryRef], policy: RoundingPolicy) -> list[EntryRef]:
    return [r.model_copy(update={"seconds": round_seconds(r.seconds, policy)}) for r in refs]


def round_user(user: UserAggregate, policy: RoundingPolicy) -> UserAggregate:
    """One person of ``round_aggregate`` (``user`` itself when the policy is inactive)."""
    return _user(user, policy) if policy.active else user


def _user(user: UserAggregate, policy: RoundingPolicy) -> UserAggregate:
    matched = []
    for m in user.matched:
        refs = _refs(m.entries, policy)
        matched.append(m.model_copy(update={"entries": refs, "seconds": _sum(m, refs)}))
    unmatched = []
    for a in user.unmatched:
        refs = _refs(a.entries, policy)
        unmatched.append(a.model_copy(update={"entries": refs, "seconds": _sum(a, refs)}))
    matched_seconds = sum(m.seconds for m in matched)
    unmatched_seconds = sum(a.seconds for a in unmatched)
    return user.model_copy(
        update={
            "matched": matched,
            "unmatched": unmatched,
            "matched_seconds": matched_seconds,
            "unmatched_seconds": unmatched_seconds,
            "total_seconds": matched_seconds + unmatched_seconds,
        }
    )


def _sum(group: MatchedEntity | UnmatchedActivity, refs: list[EntryRef]) -> int:
    """Rounded seconds of a group; a group stored without its entries is rounded as one."""
    return sum(r.seconds for r in refs) if refs else group.seconds


def round_aggregate(aggregated: TogglAggregated, policy: RoundingPolicy) -> TogglAggregated:
    """``aggregated`` with every entry rounded and every sum rebuilt from the rounded entries.

    The lists keep their aggregated order (views sort by the rounded seconds themselves);
    ``aggregated`` itself is not changed.
    """
    if not policy.active:
        return aggregated
    return with_rounded_users(aggregated, [_user(u, policy) for u in aggregated.users])


def with_rounded_users(aggregated: TogglAggregated, users: list[UserAggregate]) -> TogglAggregated:
    """``aggregated`` holding ``users`` (its people rounded by ``round_user``, in its order),
    the statistics' sums rebuilt from them."""
    matched = sum(u.matched_seconds for u in users)
    unmatched = sum(u.unmatched_seconds for u in users)
    statistics: AggregationStatistics = aggregated.statistics.model_copy(
        update={
            "total_seconds": matched + unmatched,
            "matched_seconds": matched,
            "unmatched_seconds": unmatched,
        }
    )
    return aggregated.model_copy(update={"users": users, "statistics": statistics})
