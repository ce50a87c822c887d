"""When an entity was closed, and whether time was tracked after that.

Pure. A closing moment is either a timestamp (``closed_at``) or, when Fibery's field is a
date without a time, a day (``closed_on``) that counts as closed at the end of that day in the
tracker's own zone: time on the closing day is never "after closing".
"""

from __future__ import annotations

from datetime import date, datetime

from volt_agent.domain.local_time import local_date
from volt_agent.domain.models import EnrichedEntity


def closing_known(entity: EnrichedEntity) -> bool:
    return entity.closed_at is not None or entity.closed_on is not None


def closing_day(entity: EnrichedEntity, timezone: str | None = None) -> date | None:
    """The day the entity was closed (``closed_at`` read in ``timezone``, UTC without one)."""
    if entity.closed_at is not None:
        return local_date(entity.closed_at, timezone)
    return entity.closed_on


def tracked_after_closing(
    entity: EnrichedEntity, start: datetime, timezone: str | None = None
) -> bool:
    """Whether an entry starting at ``start`` began after the entity was closed; ``False``
    when the closing moment is unknown."""
    if entity.closed_at is not None:
        return start >= entity.closed_at
    if entity.closed_on is not None:
        return local_date(start, timezone) > entity.closed_on
    return False


def closed_within(entity: EnrichedEntity, start: date, end: date) -> bool:
    """Whether the closing day (UTC for timestamps) lies in ``[start, end]``."""
    day = closing_day(entity)
    return day is not None and start <= day <= end
