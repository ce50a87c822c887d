"""Findings of "what looks wrong", computed from aggregated time and enriched Fibery entities.

Pure and deterministic. Every insight is derived from the data it names (a person, an
entity, an amount of time) and never invented; reports only render them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import ConfigDict, computed_field

from volt_agent.domain.aggregation import UNKNOWN_TYPE
from volt_agent.domain.closing import closing_known, tracked_after_closing
from volt_agent.domain.models import (
    DerivedModel,
    EnrichedData,
    EnrichedEntity,
    EntityKey,
    MatchedEntity,
    UnmatchedActivity,
    UserAggregate,
    compact_model,
    hours,
    share_fields_set,
)
from volt_agent.domain.parsing import id_sort_key
from volt_agent.domain.schedule import Schedule, person_schedule
from volt_agent.reporting.markdown import fmt_date, fmt_hours, fmt_pct, truncate

InsightKind = Literal[
    "closed_entity_time",
    "deleted_entity_time",
    "entity_error_time",
    "not_assignee",
    "no_assignee",
    "high_unmatched_share",
    "long_entry",
    "no_matched_time",
    "missing_days",
    "under_logging",
    "overtime",
    "over_estimate",
]
Severity = Literal["high", "medium", "low"]
SEVERITY_ORDER: tuple[Severity, ...] = ("high", "medium", "low")
KIND_SEVERITY: dict[InsightKind, Severity] = {
    "closed_entity_time": "high",
    "deleted_entity_time": "high",
    "no_matched_time": "high",
    "long_entry": "medium",
    "high_unmatched_share": "medium",
    "not_assignee": "medium",
    "entity_error_time": "low",
    "no_assignee": "low",
    "missing_days": "medium",
    "under_logging": "medium",
    "overtime": "medium",
    "over_estimate": "medium",
}
"""Each kind's severity: time that is likely misbooked is high, process gaps medium, data
gaps that need no action by the person low."""
TEAM_TOP = 10
PERSON_TOP = 5
EntityIndex = Mapping[tuple[str, str], EnrichedEntity]
"""Enriched entities by ``(type_key, public_id)``; see ``index_entities``."""

KIND_ORDER: tuple[InsightKind, ...] = (
    "closed_entity_time",
    "deleted_entity_time",
    "entity_error_time",
    "not_assignee",
    "no_assignee",
    "high_unmatched_share",
    "no_matched_time",
    "long_entry",
    "missing_days",
    "under_logging",
    "overtime",
    "over_estimate",
)
_KIND_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}
_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITY_ORDER)}
KIND_TITLES: dict[InsightKind, str] = {
    "closed_entity_time": "Time tracked after the entity was closed",
    "deleted_entity_time": "Time on entities not found in Fibery (deleted)",
    "entity_error_time": "Time on entities Fibery could not return",
    "not_assignee": "Time by people who are not assignees",
    "no_assignee": "Time on entities with no assignee",
    "high_unmatched_share": "High share of time without a Fibery reference",
    "no_matched_time": "People with no time on Fibery entities",
    "long_entry": "Very long time entries",
    "missing_days": "Working days with no time logged",
    "under_logging": "People logging less than their schedule",
    "overtime": "People logging more than their schedule",
    "over_estimate": "Entities over their estimate",
}
DEFAULT_CLOSED_STATES = frozenset({"Done", "Closed", "Cancelled", "Released"})
_NAME_LIMIT = 80


@dataclass(frozen=True)
class InsightSettings:
    """Thresholds of the checks. State names compare case-insensitively."""

    closed_states: frozenset[str] = field(default=DEFAULT_CLOSED_STATES)
    unmatched_share_threshold: float = 0.4
    """A person is flagged when unmatched time is more than this fraction of their time."""
    long_entry_seconds: int = 10 * 3600
    """An entry longer than this is flagged."""
    schedule: Schedule | None = None
    """Working schedule for ``missing_days``, ``under_logging`` and ``overtime``; ``None``:
    those checks are off."""
    estimate_field: str = "estimate"
    """The enrichment field alias holding an entity's estimate, in hours."""
    estimate_factor: float | None = None
    """``over_estimate`` when an entity's tracked hours exceed estimate x this; ``None``: off."""

    def is_closed(self, entity: EnrichedEntity) -> bool:
        if entity.status != "found" or entity.state is None:
            return False
        state = entity.state.casefold()
        return any(state == closed.casefold() for closed in self.closed_states)


class Insight(DerivedModel):
    """One finding. ``seconds`` is the time it concerns (its ``score`` in hours, used to rank
    findings of the same severity); ``message`` is plain, unescaped text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: InsightKind
    message: str
    person: str | None = None
    user_id: int | None = None
    entity: EntityKey | None = None
    entity_name: str | None = None
    seconds: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def severity(self) -> Severity:
        """Fixed per kind (``KIND_SEVERITY``)."""
        return KIND_SEVERITY[self.kind]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def hours(self) -> float:
        return hours(self.seconds)

    @property
    def score(self) -> float:
        return hours(self.seconds)

    def model_post_init(self, context: Any, /) -> None:
        """A run may have tens of thousands of findings: they share one fields-set (see
        ``domain.models.share_fields_set``)."""
        share_fields_set(self)


class FindingPool:
    """Builds findings small: one ``EntityKey`` per entity, one object per equal entity name
    and duration, and each finding and key made by ``compact_model`` (a team report at org
    scale keeps over ten thousand). They equal, dump and render as validated findings, for
    less time. A caller keeping the findings of many people shares one pool."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, str], EntityKey] = {}
        self._names: dict[str, str] = {}
        self._seconds: dict[int, int] = {}

    def key(self, type_key: str, public_id: str) -> EntityKey:
        shared = self._keys.get((type_key, public_id))
        if shared is None:
            shared = compact_model(EntityKey, {"type_key": type_key, "public_id": public_id})
            self._keys[type_key, public_id] = shared
        return shared

    def insight(
        self,
        kind: InsightKind,
        message: str,
        *,
        person: str | None = None,
        user_id: int | None = None,
        entity: EntityKey | None = None,
        entity_name: str | None = None,
        seconds: int = 0,
    ) -> Insight:
        return compact_model(
            Insight,
            {
                "kind": kind,
                "message": message,
                "person": person,
                "user_id": user_id,
                "entity": entity,
                "entity_name": (
                    None
                    if entity_name is None
                    else self._names.setdefault(entity_name, entity_name)
                ),
                "seconds": self._seconds.setdefault(seconds, seconds),
            },
        )


def index_entities(entities: Iterable[EnrichedEntity]) -> dict[tuple[str, str], EnrichedEntity]:
    """Enriched entities keyed by ``(type_key, public_id)``; the last one wins on duplicates."""
    return {(e.type_key, e.public_id): e for e in entities}


def matched_key(matched: MatchedEntity) -> tuple[str, str]:
    """The ``(type_key, public_id)`` a matched entity is enriched under."""
    return (matched.type_key or UNKNOWN_TYPE, matched.entity_id)


def display_name(matched: MatchedEntity, entity: EnrichedEntity | None) -> str:
    """Fibery's name of a found entity, otherwise the name from the Toggl description."""
    if entity is not None and entity.status == "found" and entity.name:
        return entity.name
    return matched.name


def entity_ref(type_key: str, public_id: str) -> str:
    return f"{type_key} #{public_id}"


def team_insights(data: EnrichedData, settings: InsightSettings | None = None) -> list[Insight]:
    """Insights for every person of the run, in ``sort_insights`` order."""
    index = index_entities(data.entities)
    period = (data.aggregated.start_date, data.aggregated.end_date)
    users = data.aggregated.users
    pool = FindingPool()
    found = [i for user in users for i in user_insights(user, index, settings, period, pool=pool)]
    found.extend(estimate_insights(users, index, settings, pool=pool))
    return sort_insights(found)


def user_insights(
    user: UserAggregate,
    entities: EntityIndex,
    settings: InsightSettings | None = None,
    period: tuple[date, date] | None = None,
    *,
    pool: FindingPool | None = None,
) -> list[Insight]:
    """Insights about one person: entity checks for each matched entity, then time checks,
    then (with a ``settings.schedule`` and the run's ``period``) schedule checks.

    An entity missing from ``entities`` (not enriched) gives no entity insight. A person with
    no matched time at all gets ``no_matched_time`` instead of ``high_unmatched_share``.
    A caller keeping the findings of many people builds them with one ``pool``.
    """
    settings = settings or InsightSettings()
    findings = FindingPool() if pool is None else pool
    found: list[Insight] = []
    for matched in user.matched:
        entity = entities.get(matched_key(matched))
        if entity is not None:
            found.extend(_entity_insights(user, matched, entity, settings, findings))
    found.extend(_share_insights(user, settings, findings))
    found.extend(_long_entries(user, entities, settings, findings))
    if settings.schedule is not None and period is not None:
        found.extend(schedule_insights(user, settings.schedule, *period, pool=findings))
    return sort_insights(found)


def rank_insights(insights: Iterable[Insight]) -> list[Insight]:
    """Most important first: severity, then time involved descending, then ``sort_insights``."""
    return rank_sorted(sort_insights(insights))


def rank_sorted(ordered: Iterable[Insight]) -> list[Insight]:
    """``rank_insights`` of findings already in ``sort_insights`` order (a stable sort)."""
    return sorted(ordered, key=insight_rank_key)


def insight_rank_key(insight: Insight) -> tuple[int, int]:
    """What ``rank_sorted`` orders by: severity, then time involved descending."""
    return (_SEVERITY_RANK[insight.severity], -insight.seconds)


def kind_counts(insights: Iterable[Insight]) -> list[tuple[InsightKind, int]]:
    """How many findings of each kind, in ``KIND_ORDER``, kinds without findings left out."""
    counts = dict.fromkeys(KIND_ORDER, 0)
    for i in insights:
        counts[i.kind] += 1
    return [(kind, n) for kind, n in counts.items() if n]


def closing_unknown(data: EnrichedData, settings: InsightSettings | None = None) -> list[EntityKey]:
    """Entities with time this run that are closed now but whose closing date is unknown, so
    no finding says whether their time came after closing."""
    settings = settings or InsightSettings()
    index = index_entities(data.entities)
    keys = {matched_key(m) for user in data.aggregated.users for m in user.matched}
    found = [
        entity
        for key in keys
        if (entity := index.get(key)) is not None
        and settings.is_closed(entity)
        and not closing_known(entity)
    ]
    return [e.key for e in sorted(found, key=lambda e: (e.type_key, id_sort_key(e.public_id)))]


def sort_insights(insights: Iterable[Insight]) -> list[Insight]:
    """Kind (``KIND_ORDER``), then time descending, person, entity, message."""
    return sorted(insights, key=insight_sort_key)


def insight_sort_key(insight: Insight) -> tuple[object, ...]:
    """What ``sort_insights`` orders by."""
    entity = insight.entity
    key = None if entity is None else (entity.type_key, entity.public_id)
    return finding_sort_key(insight.kind, insight.seconds, insight.person, key, insight.message)


def finding_sort_key(
    kind: InsightKind,
    seconds: int,
    person: str | None,
    entity: tuple[str, str] | None,
    message: str,
) -> tuple[object, ...]:
    """``insight_sort_key`` of a finding's values (``entity``: ``(type_key, public_id)``)."""
    return (
        _KIND_RANK[kind],
        -seconds,
        person or "",
        entity[0] if entity else "",
        id_sort_key(entity[1]) if entity else (0, 0, ""),
        message,
    )


def _entity_insights(
    user: UserAggregate,
    matched: MatchedEntity,
    entity: EnrichedEntity,
    settings: InsightSettings,
    findings: FindingPool,
) -> list[Insight]:
    name = truncate(display_name(matched, entity), _NAME_LIMIT)
    ref = f"{entity_ref(*matched_key(matched))} {name}"
    spent = f"{user.user_name} tracked {fmt_hours(matched.seconds)} h on {ref}"

    def make(kind: InsightKind, message: str, seconds: int = matched.seconds) -> Insight:
        return findings.insight(
            kind,
            message,
            person=user.user_name,
            user_id=user.user_id,
            entity=findings.key(entity.type_key, entity.public_id),
            entity_name=name,
            seconds=seconds,
        )

    if entity.status == "not_found":
        return [make("deleted_entity_time", f"{spent}, which is not in Fibery")]
    if entity.status == "error":
        reason = truncate(entity.error or "unknown error", _NAME_LIMIT)
        return [make("entity_error_time", f"{spent}, which Fibery did not return: {reason}")]
    found: list[Insight] = []
    if settings.is_closed(entity):
        after = sum(
            r.seconds
            for r in matched.entries
            if tracked_after_closing(entity, r.start, user.timezone)
        )
        if after > 0:
            closed = fmt_date(entity.closed_at or entity.closed_on)
            found.append(
                make(
                    "closed_entity_time",
                    f"{user.user_name} tracked {fmt_hours(after)} h on {ref} after it was"
                    f" closed ({entity.state} since {closed})",
                    after,
                )
            )
    if not entity.assignees:
        found.append(make("no_assignee", f"{spent}, which has no assignee"))
    elif not _is_assignee(user, entity):
        assignees = truncate(", ".join(entity.assignees), _NAME_LIMIT)
        found.append(make("not_assignee", f"{spent} but is not an assignee ({assignees})"))
    return found


def _is_assignee(user: UserAggregate, entity: EnrichedEntity) -> bool:
    """Email first (a Toggl "anna.s" is Fibery's "Anna Schmidt" when their emails agree),
    then the name; an assignee listed by email only matches the person's email too."""

    def folded(values: Iterable[str | None]) -> set[str]:
        return {v.strip().casefold() for v in values if v and v.strip()}

    if user.email and user.email.strip().casefold() in folded(entity.assignee_emails):
        return True
    return bool(folded([user.user_name, user.email]) & folded(entity.assignees))


def _share_insights(
    user: UserAggregate, settings: InsightSettings, findings: FindingPool
) -> list[Insight]:
    total = user.total_seconds
    if total <= 0:
        return []
    if user.matched_seconds == 0:
        message = (
            f"None of {user.user_name}'s {fmt_hours(total)} h"
            f" ({user.entry_count} entries) references a Fibery entity"
        )
        kind: InsightKind = "no_matched_time"
        seconds = total
    elif user.unmatched_seconds > settings.unmatched_share_threshold * total:
        threshold = round(settings.unmatched_share_threshold * 100)
        message = (
            f"{fmt_pct(user.unmatched_seconds, total)} of {user.user_name}'s"
            f" {fmt_hours(total)} h ({fmt_hours(user.unmatched_seconds)} h) has no Fibery"
            f" reference (threshold {threshold}%)"
        )
        kind = "high_unmatched_share"
        seconds = user.unmatched_seconds
    else:
        return []
    return [
        findings.insight(
            kind, message, person=user.user_name, user_id=user.user_id, seconds=seconds
        )
    ]


def _long_entries(
    user: UserAggregate, entities: EntityIndex, settings: InsightSettings, findings: FindingPool
) -> list[Insight]:
    over = fmt_hours(settings.long_entry_seconds)
    found: list[Insight] = []
    sources: list[MatchedEntity | UnmatchedActivity] = [*user.matched, *user.unmatched]
    for source in sources:
        long = [ref for ref in source.entries if ref.seconds > settings.long_entry_seconds]
        if not long:  # most sources have none: their key and label are never built
            continue
        key, label = _long_entry_source(source, entities, findings)
        found.extend(
            findings.insight(
                "long_entry",
                (
                    f"{user.user_name} has a {fmt_hours(ref.seconds)} h entry (over {over} h)"
                    f" on {fmt_date(ref.start)}: "
                    + (f"{entity_ref(key.type_key, key.public_id)} {label}" if key else label)
                ),
                person=user.user_name,
                user_id=user.user_id,
                entity=key,
                entity_name=label if key else None,
                seconds=ref.seconds,
            )
            for ref in long
        )
    return found


def _long_entry_source(
    source: MatchedEntity | UnmatchedActivity, entities: EntityIndex, findings: FindingPool
) -> tuple[EntityKey | None, str]:
    """The entity a long entry was tracked on (``None``: unmatched) and its label."""
    if isinstance(source, UnmatchedActivity):
        return None, truncate(source.description, _NAME_LIMIT)
    key = matched_key(source)
    name = truncate(display_name(source, entities.get(key)), _NAME_LIMIT)
    return findings.key(key[0], source.entity_id), name


def schedule_insights(
    user: UserAggregate,
    schedule: Schedule,
    start: date,
    end: date,
    *,
    pool: FindingPool | None = None,
) -> list[Insight]:
    """``missing_days`` (working days without any entry; score: their expected hours), then
    ``under_logging`` (total below ratio x expected; score: the shortfall) or ``overtime``
    (total above ratio x expected; score: the time over expected)."""
    plan = person_schedule(user, schedule, start, end)
    findings = FindingPool() if pool is None else pool

    def make(kind: InsightKind, message: str, seconds: int) -> Insight:
        return findings.insight(
            kind, message, person=user.user_name, user_id=user.user_id, seconds=seconds
        )

    found: list[Insight] = []
    if plan.missing_days:
        days = ", ".join(fmt_date(d) for d in plan.missing_days)
        found.append(
            make(
                "missing_days",
                f"{user.user_name} logged no time on {len(plan.missing_days)} working"
                f" day(s): {truncate(days, _NAME_LIMIT)}",
                plan.missing_seconds,
            )
        )
    expected, logged = plan.expected_seconds, plan.logged_seconds
    versus = f"{fmt_hours(logged)} h of {fmt_hours(expected)} h expected"
    if expected > 0 and logged < schedule.under_logging_ratio * expected:
        found.append(
            make(
                "under_logging",
                f"{user.user_name} logged {versus}"
                f" (below {round(schedule.under_logging_ratio * 100)}%)",
                expected - logged,
            )
        )
    elif expected > 0 and logged > schedule.overtime_ratio * expected:
        found.append(
            make(
                "overtime",
                f"{user.user_name} logged {versus} (above {round(schedule.overtime_ratio * 100)}%)",
                logged - expected,
            )
        )
    return found


def estimate_hours(entity: EnrichedEntity, field_alias: str) -> float | None:
    """The entity's estimate in hours from its ``field_alias`` field; ``None`` when absent,
    not a number, or not positive."""
    value = entity.fields.get(field_alias)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value > 0 else None


def estimate_insights(
    users: Iterable[UserAggregate],
    entities: EntityIndex,
    settings: InsightSettings | None = None,
    *,
    pool: FindingPool | None = None,
) -> list[Insight]:
    """``over_estimate`` for each found entity whose time tracked in this run (everyone's)
    exceeds its estimate x ``settings.estimate_factor``; score: the hours over the estimate.

    Only the run's tracked hours are known: time tracked before the period is not counted,
    so an entity can be over its estimate without a finding."""
    settings = settings or InsightSettings()
    factor = settings.estimate_factor
    if factor is None:
        return []
    findings = FindingPool() if pool is None else pool
    tracked: dict[tuple[str, str], int] = {}
    names: dict[tuple[str, str], str] = {}
    for user in users:
        for matched in user.matched:
            key = matched_key(matched)
            tracked[key] = tracked.get(key, 0) + matched.seconds
            names.setdefault(key, display_name(matched, entities.get(key)))
    found: list[Insight] = []
    for key, seconds in tracked.items():
        entity = entities.get(key)
        if entity is None or entity.status != "found":
            continue
        estimate = estimate_hours(entity, settings.estimate_field)
        if estimate is None or seconds <= estimate * factor * 3600:
            continue
        name = truncate(names[key], _NAME_LIMIT)
        found.append(
            findings.insight(
                "over_estimate",
                (
                    f"{entity_ref(*key)} {name} has {fmt_hours(seconds)} h tracked this period"
                    f" against an estimate of {fmt_hours(round(estimate * 3600))} h"
                    f" (more than {factor:g} times)"
                ),
                entity=findings.key(entity.type_key, entity.public_id),
                entity_name=name,
                seconds=seconds - round(estimate * 3600),
            )
        )
    return found
