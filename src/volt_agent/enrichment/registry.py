"""Per-type enrichment: one activity name per kind of entity, each a pure post-processor.

The Fibery query and batching are the same for every type (fields come from
``config/enrichment_config.yaml``); what differs is what an enricher derives from the
fetched fields. A new type needs only config unless it needs logic of its own, in which
case it gets an entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from volt_agent.domain.models import EnrichedEntity

Enricher = Callable[[EnrichedEntity], EnrichedEntity]


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
        except ValueError:
            return None
    return None


def _days_between(start: Any, end: Any) -> int | None:
    first, last = _as_date(start), _as_date(end)
    if first is None or last is None:
        return None
    return (last - first).days


def _with_fields(entity: EnrichedEntity, **derived: Any) -> EnrichedEntity:
    extra = {k: v for k, v in derived.items() if v is not None}
    return entity.model_copy(update={"fields": {**entity.fields, **extra}}) if extra else entity


def default_enrich_entity(entity: EnrichedEntity) -> EnrichedEntity:
    return entity


def enrich_scrum_task(entity: EnrichedEntity) -> EnrichedEntity:
    """Tasks: cycle time in days from ``started`` to ``completed``."""
    return _with_fields(
        entity,
        cycle_time_days=_days_between(entity.fields.get("started"), entity.fields.get("completed")),
    )


def enrich_scrum_bug(entity: EnrichedEntity) -> EnrichedEntity:
    """Bugs: whether resolved, and days from creation to resolution."""
    resolved = entity.fields.get("resolved")
    return _with_fields(
        entity,
        is_resolved=bool(resolved),
        days_to_resolve=_days_between(entity.created, resolved),
    )


def enrich_product_feature(entity: EnrichedEntity) -> EnrichedEntity:
    """Product features: length of the planned window in days."""
    return _with_fields(
        entity,
        planned_days=_days_between(
            entity.fields.get("planned_start"), entity.fields.get("planned_end")
        ),
    )


ENRICHERS: dict[str, Enricher] = {
    "enrich_scrum_task": enrich_scrum_task,
    "enrich_scrum_bug": enrich_scrum_bug,
    "enrich_product_feature": enrich_product_feature,
    "default_enrich_entity": default_enrich_entity,
}


def enricher_for(activity: str) -> Enricher:
    return ENRICHERS.get(activity, default_enrich_entity)
