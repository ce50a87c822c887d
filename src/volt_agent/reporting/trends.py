"""Week-over-week deltas between this run's data and an earlier run's (``trends.json``).

Pure: both sides come from the runs' own artifacts (``enriched_data.json``), never from a new
fetch. Hours are the raw tracked seconds (before any report rounding), so a script can check
every delta against the two runs' JSON files.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date

from pydantic import Field

from volt_agent.domain.closing import closed_within
from volt_agent.domain.models import (
    EnrichedData,
    EnrichedEntity,
    MatchedEntity,
    Model,
    TogglAggregated,
)

TRENDS_JSON = "trends.json"
UNMATCHED_TYPE = "(unmatched)"
NO_PROJECT = "(no project)"
NO_TYPE = "(no type)"


class Delta(Model):
    """One row: a person, entity type or project, this period against the previous one."""

    key: str
    label: str
    previous_seconds: int
    current_seconds: int
    delta_seconds: int


class ClosedEntity(Model):
    type_key: str
    public_id: str
    name: str | None = None


class Trends(Model):
    """What ``trends.json`` holds; ``previous_run_id`` is ``None`` when nothing was compared,
    and ``reason`` then says why."""

    start_date: date
    end_date: date
    previous_run_id: str | None = None
    previous_start_date: date | None = None
    previous_end_date: date | None = None
    reason: str = ""
    hours_per_person: list[Delta] = Field(default_factory=list)
    hours_per_type: list[Delta] = Field(default_factory=list)
    hours_per_project: list[Delta] = Field(default_factory=list)
    matched_share_previous: float | None = None
    """Percent of tracked time matched to an entity, one decimal."""
    matched_share_current: float | None = None
    matched_share_delta_pp: float | None = None
    """Percentage points, current minus previous."""
    newly_closed: list[ClosedEntity] = Field(default_factory=list)


def no_comparison(current: TogglAggregated, reason: str) -> Trends:
    return Trends(start_date=current.start_date, end_date=current.end_date, reason=reason)


def compute_trends(current: EnrichedData, previous: EnrichedData, previous_run_id: str) -> Trends:
    """Deltas of ``current`` against ``previous`` (the earlier run ``previous_run_id``)."""
    now, before = current.aggregated, previous.aggregated
    share_now, share_before = matched_share(now), matched_share(before)
    return Trends(
        start_date=now.start_date,
        end_date=now.end_date,
        previous_run_id=previous_run_id,
        previous_start_date=before.start_date,
        previous_end_date=before.end_date,
        hours_per_person=_deltas(seconds_per_person(before), seconds_per_person(now)),
        hours_per_type=_deltas(seconds_per_type(before), seconds_per_type(now)),
        hours_per_project=_deltas(seconds_per_project(before), seconds_per_project(now)),
        matched_share_previous=share_before,
        matched_share_current=share_now,
        matched_share_delta_pp=round(share_now - share_before, 1),
        newly_closed=newly_closed(current, previous),
    )


def seconds_per_person(data: TogglAggregated) -> dict[str, tuple[str, int]]:
    """``user_id`` → (name, tracked seconds)."""
    return {str(u.user_id): (u.user_name, u.total_seconds) for u in data.users}


def seconds_per_type(data: TogglAggregated) -> dict[str, tuple[str, int]]:
    """Matched time by entity type; unmatched time as ``(unmatched)``."""
    return _seconds_by(data, lambda entity: entity.entity_type or NO_TYPE, UNMATCHED_TYPE)


def seconds_per_project(data: TogglAggregated) -> dict[str, tuple[str, int]]:
    """Matched time by the project its entity reference names; the rest as ``(no project)``."""
    return _seconds_by(data, lambda entity: entity.project or NO_PROJECT, NO_PROJECT)


def _seconds_by(
    data: TogglAggregated, key_of: Callable[[MatchedEntity], str], unmatched_key: str
) -> dict[str, tuple[str, int]]:
    totals: dict[str, int] = defaultdict(int)
    for user in data.users:
        for entity in user.matched:
            totals[key_of(entity)] += entity.seconds
        if user.unmatched_seconds:
            totals[unmatched_key] += user.unmatched_seconds
    return {key: (key, seconds) for key, seconds in totals.items()}


def matched_share(data: TogglAggregated) -> float:
    """Matched seconds as a percentage of all tracked seconds, one decimal (0 without time)."""
    stats = data.statistics
    if not stats.total_seconds:
        return 0.0
    return round(100 * stats.matched_seconds / stats.total_seconds, 1)


def newly_closed(current: EnrichedData, previous: EnrichedData) -> list[ClosedEntity]:
    """Entities closed within this period that were not already closed within the previous
    one, sorted by type and id."""
    before = {(e.type_key, e.public_id) for e in _closed(previous.entities, previous.aggregated)}
    return sorted(
        (
            ClosedEntity(type_key=e.type_key, public_id=e.public_id, name=e.name)
            for e in _closed(current.entities, current.aggregated)
            if (e.type_key, e.public_id) not in before
        ),
        key=lambda c: (c.type_key, c.public_id),
    )


def _closed(entities: Iterable[EnrichedEntity], period: TogglAggregated) -> list[EnrichedEntity]:
    return [e for e in entities if closed_within(e, period.start_date, period.end_date)]


def _deltas(
    previous: dict[str, tuple[str, int]], current: dict[str, tuple[str, int]]
) -> list[Delta]:
    """One row per key on either side, largest current time first, then by label."""
    rows = []
    for key in previous.keys() | current.keys():
        label = (current.get(key) or previous[key])[0]
        before = previous.get(key, (label, 0))[1]
        now = current.get(key, (label, 0))[1]
        rows.append(
            Delta(
                key=key,
                label=label,
                previous_seconds=before,
                current_seconds=now,
                delta_seconds=now - before,
            )
        )
    return sorted(rows, key=lambda d: (-d.current_seconds, d.label, d.key))
