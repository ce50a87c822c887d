"""What the prompt templates see: the run's data as small views.

Code-computed values (hours, percentages, dates, ``#id`` references, statuses) are
``Trusted``; every string that came from Toggl or Fibery stays a plain ``str`` and is quoted
as data by ``prompts``. Lists are in report order (time descending), so when the budget
cuts texts, the entities that matter most are still named first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from volt_agent.domain.models import (
    AggregationStatistics,
    EnrichedData,
    EnrichedEntity,
    TogglAggregated,
    UserAggregate,
)
from volt_agent.reporting.digest import TeamDigest
from volt_agent.reporting.insights import (
    EntityIndex,
    InsightSettings,
    index_entities,
    team_insights,
    user_insights,
)
from volt_agent.reporting.markdown import fmt_date, fmt_day, fmt_hours, fmt_pct, fmt_value
from volt_agent.reporting.prompts import PromptLibrary, Trusted, trusted
from volt_agent.reporting.views import (
    DayTotal,
    EntityDetail,
    EntityNames,
    EntityTotal,
    activity_totals,
    day_totals,
    entity_details,
    entity_totals,
    person_rows,
    project_shares,
    type_shares,
)

DESCRIPTION_EXCERPT = 600
COMMENT_EXCERPT = 300
MAX_COMMENTS = 3
TOP_ACTIVITIES = 25
PEOPLE_PER_ENTITY = 5


@dataclass(frozen=True)
class CommentView:
    author: str
    created: Trusted
    text: str


@dataclass(frozen=True)
class EntityView:
    ref: Trusted
    """``#123``: how the model must name the entity."""
    type_key: str
    name: str
    project: str | None
    hours: Trusted
    entries: int
    first_day: Trusted
    last_day: Trusted
    status: Trusted
    """found | not_found | error | not enriched"""
    state: str | None
    created: Trusted
    modified: Trusted
    assignees: str | None
    description: str | None
    comments: tuple[CommentView, ...]
    comment_count: int
    fields: tuple[tuple[str, str], ...]
    people: tuple[tuple[str, Trusted], ...] = ()


@dataclass(frozen=True)
class ActivityView:
    description: str
    hours: Trusted
    entries: int
    people: tuple[tuple[str, Trusted], ...] = ()


@dataclass(frozen=True)
class ShareView:
    label: str
    hours: Trusted
    share: Trusted
    entities: int
    people: int


@dataclass(frozen=True)
class PersonView:
    name: str
    user_id: int
    total_hours: Trusted
    matched_hours: Trusted
    unmatched_hours: Trusted
    matched_share: Trusted
    entries: int
    entities: int
    top: Trusted | None


@dataclass(frozen=True)
class TypeHint:
    type_key: str
    hint: Trusted


def _excerpt(text: str, limit: int) -> str | None:
    flat = " ".join(text.split())
    if not flat:
        return None
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _status(entity: EnrichedEntity | None) -> Trusted:
    return trusted(entity.status if entity is not None else "not enriched")


def _entity_view(detail: EntityDetail) -> EntityView:
    entity = detail.entity
    found = entity is not None and entity.status == "found"
    return EntityView(
        ref=trusted(f"#{detail.matched.entity_id}"),
        type_key=detail.type_key,
        name=detail.name,
        project=detail.matched.project,
        hours=trusted(fmt_hours(detail.matched.seconds)),
        entries=detail.matched.entry_count,
        first_day=trusted(fmt_date(detail.first_day)),
        last_day=trusted(fmt_date(detail.last_day)),
        status=_status(entity),
        state=entity.state if entity is not None and found else None,
        created=trusted(fmt_date(entity.created if entity else None)),
        modified=trusted(fmt_date(entity.modified if entity else None)),
        assignees=", ".join(entity.assignees) if entity is not None and entity.assignees else None,
        description=_excerpt(entity.description, DESCRIPTION_EXCERPT) if entity else None,
        comments=tuple(
            CommentView(
                author=c.author or "unknown",
                created=trusted(fmt_date(c.created)),
                text=_excerpt(c.text, COMMENT_EXCERPT) or "",
            )
            for c in detail.comments[:MAX_COMMENTS]
        ),
        comment_count=max(entity.comment_count, len(entity.comments)) if entity else 0,
        fields=tuple((k, fmt_value(v)) for k, v in entity.fields.items()) if entity else (),
    )


def _total_view(total: EntityTotal) -> EntityView:
    entity = total.entity
    found = entity is not None and entity.status == "found"
    return EntityView(
        ref=trusted(f"#{total.public_id}"),
        type_key=total.type_key,
        name=total.name,
        project=None,
        hours=trusted(fmt_hours(total.seconds)),
        entries=total.entry_count,
        first_day=trusted("—"),
        last_day=trusted("—"),
        status=_status(entity),
        state=entity.state if entity is not None and found else None,
        created=trusted(fmt_date(entity.created if entity else None)),
        modified=trusted(fmt_date(entity.modified if entity else None)),
        assignees=", ".join(entity.assignees) if entity is not None and entity.assignees else None,
        description=None,
        comments=(),
        comment_count=0,
        fields=(),
        people=tuple(
            (p.name, trusted(fmt_hours(p.seconds))) for p in total.people[:PEOPLE_PER_ENTITY]
        ),
    )


def _totals(stats: AggregationStatistics) -> dict[str, Any]:
    total = stats.total_seconds
    return {
        "people": stats.user_count,
        "entries": stats.entry_count,
        "entities": stats.unique_entity_count,
        "total_hours": trusted(fmt_hours(total)),
        "matched_hours": trusted(fmt_hours(stats.matched_seconds)),
        "unmatched_hours": trusted(fmt_hours(stats.unmatched_seconds)),
        "matched_share": trusted(fmt_pct(stats.matched_seconds, total)),
    }


def _period(start: date, end: date) -> dict[str, Trusted]:
    return {"start": trusted(start.isoformat()), "end": trusted(end.isoformat())}


def _people(users: Sequence[UserAggregate], index: EntityIndex) -> list[PersonView]:
    return [
        PersonView(
            name=row.user.user_name,
            user_id=row.user.user_id,
            total_hours=trusted(fmt_hours(row.user.total_seconds)),
            matched_hours=trusted(fmt_hours(row.user.matched_seconds)),
            unmatched_hours=trusted(fmt_hours(row.user.unmatched_seconds)),
            matched_share=trusted(fmt_pct(row.user.matched_seconds, row.user.total_seconds)),
            entries=row.user.entry_count,
            entities=len(row.user.matched),
            top=trusted(f"#{row.top.entity_id} ({fmt_hours(row.top.seconds)} h)")
            if row.top
            else None,
        )
        for row in person_rows(users, index)
    ]


def _shares(users: Sequence[UserAggregate], total: int, by_project: bool) -> list[ShareView]:
    shares = project_shares(users) if by_project else type_shares(users)
    return [
        ShareView(
            s.label,
            trusted(fmt_hours(s.seconds)),
            trusted(fmt_pct(s.seconds, total)),
            s.entity_count,
            s.people_count,
        )
        for s in shares
    ]


def _activities(users: Sequence[UserAggregate]) -> list[ActivityView]:
    return [
        ActivityView(
            a.description,
            trusted(fmt_hours(a.seconds)),
            a.entry_count,
            tuple((p.name, trusted(fmt_hours(p.seconds))) for p in a.people[:PEOPLE_PER_ENTITY]),
        )
        for a in activity_totals(users)[:TOP_ACTIVITIES]
    ]


def toggl_context(
    data: TogglAggregated,
    days: Sequence[DayTotal] | None = None,
    names: EntityNames | None = None,
) -> dict[str, Any]:
    """``days`` and ``names``: ``day_totals`` and the entities' Toggl names of the full people
    (then ``data`` may hold slim people)."""
    users = data.users
    return {
        "period": _period(data.start_date, data.end_date),
        "totals": _totals(data.statistics),
        "people": _people(users, {}),
        "entities": [_total_view(t) for t in entity_totals(users, names=names)],
        "activities": _activities(users),
        "activity_count": len(activity_totals(users)),
        "types": _shares(users, data.statistics.total_seconds, by_project=False),
        "days": [
            {
                "day": trusted(fmt_day(d.day)),
                "hours": trusted(fmt_hours(d.seconds)),
                "matched_hours": trusted(fmt_hours(d.matched_seconds)),
            }
            for d in (day_totals(users) if days is None else days)
        ],
    }


def person_context(
    user: UserAggregate,
    entities: EntityIndex,
    period: tuple[date, date],
    library: PromptLibrary,
    settings: InsightSettings,
) -> dict[str, Any]:
    details = entity_details(user, entities, MAX_COMMENTS)
    hints: dict[str, TypeHint] = {}
    for detail in details:
        hint = library.hint_for(detail.type_key)
        if hint is not None and detail.type_key not in hints:
            hints[detail.type_key] = TypeHint(detail.type_key, hint)
    total = user.total_seconds
    return {
        "period": _period(*period),
        "person": {
            "name": user.user_name,
            "user_id": user.user_id,
            "total_hours": trusted(fmt_hours(total)),
            "matched_hours": trusted(fmt_hours(user.matched_seconds)),
            "unmatched_hours": trusted(fmt_hours(user.unmatched_seconds)),
            "matched_share": trusted(fmt_pct(user.matched_seconds, total)),
            "entries": user.entry_count,
        },
        "entities": [_entity_view(d) for d in details],
        "activities": [
            ActivityView(a.description, trusted(fmt_hours(a.seconds)), a.entry_count)
            for a in user.unmatched
        ],
        "days": [
            {"day": trusted(fmt_day(d.day)), "hours": trusted(fmt_hours(d.seconds))}
            for d in day_totals([user])
        ],
        "insights": [i.message for i in user_insights(user, entities, settings, period)],
        "type_hints": list(hints.values()),
    }


def team_context(
    data: EnrichedData, settings: InsightSettings, digest: TeamDigest | None = None
) -> dict[str, Any]:
    """``digest``: the findings and entity names of the full people (then ``data`` may hold
    slim people)."""
    aggregated = data.aggregated
    users = aggregated.users
    index = index_entities(data.entities)
    totals = entity_totals(users, index, digest.names if digest else None)
    total = aggregated.statistics.total_seconds
    return {
        "period": _period(aggregated.start_date, aggregated.end_date),
        "totals": _totals(aggregated.statistics),
        "people": _people(users, index),
        "entities": [_total_view(t) for t in totals],
        "closed": [_total_view(t) for t in totals if t.entity and settings.is_closed(t.entity)],
        "types": _shares(users, total, by_project=False),
        "projects": _shares(users, total, by_project=True),
        "activities": _activities(users),
        "insights": [
            i.message
            for i in (team_insights(data, settings) if digest is None else digest.findings())
        ],
    }
