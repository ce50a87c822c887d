"""Closing dates of finished entities placed around the time tracked on them.

The entity records are built before the time entries, so their completion/resolution dates
start out random. Once the entries exist, each finished entity with tracked time gets a
closing day that follows its work: most are closed on or soon after the day of their last
entry (inside the period: the period's accomplishments), some only after the period ends
(still in progress during it), and a few before their last entry (time tracked after
closing, which the reports flag). A separate random stream is used, so the entries and the
rest of the workspace are exactly what the same seed gave before.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from volt_agent.sandbox._fibery_data import fibery_timestamp
from volt_agent.sandbox.records import TimeEntryRecord

CLOSING_FIELDS: dict[str, str] = {
    "Scrum/Task": "Scrum/Completed",
    "Scrum/Sub-task": "Scrum/Completed",
    "Scrum/Bug": "Scrum/Resolved",
    "Scrum/Sub-bug": "Scrum/Resolved",
}
"""The date field that says when an entity of each type was closed."""
_REFERENCE = re.compile(r"#(\S+) \[([^\]]+)\] \[([^\]]+)\]")
WITHIN_PERIOD = 0.65
AFTER_PERIOD = 0.3
"""Shares of the closing placements; the rest close before their last entry."""


def tracked_days(entries: Iterable[TimeEntryRecord]) -> dict[tuple[str, str], list[date]]:
    """UTC start days of the entries referencing each ``(type_key, public_id)``, sorted."""
    days: dict[tuple[str, str], list[date]] = {}
    for entry in entries:
        match = _REFERENCE.search(entry.description)
        if match:
            public_id, space, kind = match.groups()
            days.setdefault((f"{space}/{kind}", public_id), []).append(entry.start.date())
    return {key: sorted(found) for key, found in days.items()}


def place_closing_dates(
    entities: dict[str, list[dict[str, Any]]],
    entries: list[TimeEntryRecord],
    seed: int,
    start: date,
    days: int,
) -> None:
    """Move the closing date of every finished entity with time in ``entries`` next to that
    time (in place); entities without time keep their dates."""
    rng = random.Random(f"closing-dates-{seed}")
    end = start + timedelta(days=days - 1)
    tracked = tracked_days(entries)
    for type_key, field in CLOSING_FIELDS.items():
        for entity in entities.get(type_key, []):
            worked = tracked.get((type_key, entity["fibery/public-id"]))
            if entity.get(field) is None or not worked:
                continue
            closed = _closing_day(rng, worked, end)
            entity[field] = closed.isoformat()
            started = entity.get("Scrum/Started")
            if started is not None and date.fromisoformat(started) > closed:
                entity["Scrum/Started"] = worked[0].isoformat()
            noon = fibery_timestamp(datetime.combine(closed, time(12), tzinfo=UTC))
            modified = entity.get("fibery/modification-date")
            if isinstance(modified, str) and modified < noon:
                entity["fibery/modification-date"] = noon


def _closing_day(rng: random.Random, worked: list[date], end: date) -> date:
    roll = rng.random()
    last = worked[-1]
    if roll < WITHIN_PERIOD:
        return min(last + timedelta(days=rng.randint(0, 1)), end)
    if roll < WITHIN_PERIOD + AFTER_PERIOD or len(set(worked)) < 2:
        return end + timedelta(days=rng.randint(1, 5))
    return worked[0]
