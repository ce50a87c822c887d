"""What the team reports need from every entry, computed one person at a time.

Only day totals and team findings look at each entry; every other view of a report needs a
group's totals and its earliest entry (``entity_totals`` names an entity after it). So a
caller can feed the full people one by one to a ``DigestBuilder``, keep each as
``slim_user`` (a group keeps its earliest entry only) and write the reports from the slim
aggregate and the ``TeamDigest``: the same text as from the full data. Pure.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from volt_agent.domain.models import (
    EnrichedData,
    TogglAggregated,
    UserAggregate,
    share_fields_set,
)
from volt_agent.domain.rounding import RoundingPolicy, round_user, with_rounded_users
from volt_agent.reporting.insights import (
    EntityIndex,
    Insight,
    InsightSettings,
    estimate_insights,
    index_entities,
    rank_sorted,
    sort_insights,
    user_insights,
)
from volt_agent.reporting.views import DayTally, DayTotal


def slim_user(user: UserAggregate) -> UserAggregate:
    """``user`` with each matched and unmatched group keeping only its earliest entry
    (``entries[:1]``: entries are in ``(start, id)`` order); totals and counts unchanged."""
    matched = []
    for m in user.matched:
        group = m.model_copy(update={"entries": m.entries[:1]})
        share_fields_set(group)
        matched.append(group)
    unmatched = []
    for a in user.unmatched:
        activity = a.model_copy(update={"entries": a.entries[:1]})
        share_fields_set(activity)
        unmatched.append(activity)
    slim = user.model_copy(update={"matched": matched, "unmatched": unmatched})
    share_fields_set(slim)
    return slim


@dataclass(frozen=True)
class TeamDigest:
    """The per-entry results of the team reports: ``day_totals`` of every person and the
    findings of ``team_insights`` (``None``: not computed, as for the Toggl summary)."""

    days: tuple[DayTotal, ...]
    insights: tuple[Insight, ...] | None

    def findings(self) -> list[Insight]:
        """The team findings; an error when this digest was built without them."""
        if self.insights is None:
            raise ValueError("a team report needs a digest built with insights=True")
        return list(self.insights)

    @functools.cached_property
    def ranked(self) -> tuple[Insight, ...]:
        """``rank_insights`` of the findings, ranked once for the Markdown and the page."""
        return tuple(rank_sorted(self.findings()))


class DigestBuilder:
    """Builds a ``TeamDigest`` from the full people, one at a time.

    ``add`` each person in report order (the order of ``TogglAggregated.users``), then
    ``finish`` with the slim people ``add`` returned. ``entities``, ``settings`` and
    ``period`` are those ``team_insights`` would use (the run's enriched entities, the
    configured thresholds, the run's start and end dates)."""

    def __init__(
        self,
        *,
        entities: EntityIndex | None = None,
        settings: InsightSettings | None = None,
        period: tuple[date, date] | None = None,
        insights: bool = True,
    ) -> None:
        self._entities: EntityIndex = entities if entities is not None else {}
        self._settings = settings
        self._period = period
        self._insights: list[Insight] | None = [] if insights else None
        self._days = DayTally()

    def add(self, user: UserAggregate) -> UserAggregate:
        """Count one FULL person (rounded already when the reports are) and return them slim."""
        self._days.add(user)
        if self._insights is not None:
            self._insights.extend(user_insights(user, self._entities, self._settings, self._period))
        return slim_user(user)

    def finish(self, slim_users: Sequence[UserAggregate]) -> TeamDigest:
        """The digest; ``slim_users`` (every person added, slim or full) give the team-wide
        findings, which need each group's totals only."""
        insights: tuple[Insight, ...] | None = None
        if self._insights is not None:
            team = estimate_insights(slim_users, self._entities, self._settings)
            insights = tuple(sort_insights([*self._insights, *team]))
        return TeamDigest(days=tuple(self._days.totals()), insights=insights)


class RoundedDigest:
    """A ``DigestBuilder`` fed the full people as the reports show them: rounded by
    ``policy`` first. The rounded slim people are kept only when rounding changes them;
    otherwise ``add`` hands each slim person back, for the caller's aggregate to hold."""

    def __init__(self, policy: RoundingPolicy, digest: DigestBuilder) -> None:
        self._policy = policy
        self._digest = digest
        self._rounded: list[UserAggregate] = []

    def add(self, user: UserAggregate) -> UserAggregate | None:
        """Add a full person; their slim form when the policy leaves them unrounded."""
        slim = self._digest.add(round_user(user, self._policy))
        if not self._policy.active:
            return slim
        self._rounded.append(slim)
        return None

    def finish(self, head: TogglAggregated) -> tuple[TogglAggregated, TeamDigest]:
        """``head`` (every person added, slim and unrounded, in order) as the reports show
        it, and the digest."""
        if not self._policy.active:
            return head, self._digest.finish(head.users)
        return with_rounded_users(head, self._rounded), self._digest.finish(self._rounded)


def team_digest(data: EnrichedData, settings: InsightSettings | None = None) -> TeamDigest:
    """The digest of full ``data``: ``day_totals`` and ``team_insights`` of its people."""
    aggregated = data.aggregated
    builder = DigestBuilder(
        entities=index_entities(data.entities),
        settings=settings,
        period=(aggregated.start_date, aggregated.end_date),
    )
    for user in aggregated.users:
        builder.add(user)
    return builder.finish(aggregated.users)
