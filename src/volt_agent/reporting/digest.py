"""What the team reports need from every entry, computed one person at a time.

Only day totals, team findings and the names of entities Fibery did not name (after the
earliest entry across people) look at entries; every other view of a report needs a group's
totals only. So a caller can feed the full people one by one to a ``DigestBuilder``, keep
each as ``slim_user`` (groups without entries) and write the reports from the slim
aggregate and the ``TeamDigest``: the same text as from the full data. Pure.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from volt_agent.domain.models import (
    EnrichedData,
    TogglAggregated,
    UserAggregate,
    compact_copy,
)
from volt_agent.domain.rounding import RoundingPolicy, round_user, with_rounded_users
from volt_agent.reporting.insights import (
    EntityIndex,
    Insight,
    InsightKind,
    InsightSettings,
    estimate_insights,
    index_entities,
    sort_insights,
    user_insights,
)
from volt_agent.reporting.packed_findings import FindingRuns, PackedFindings
from volt_agent.reporting.views import DayTally, DayTotal, NameTally


def slim_user(user: UserAggregate) -> UserAggregate:
    """``user`` with each matched and unmatched group keeping no entries; totals, counts and
    names unchanged, in compact dicts (``compact_copy``: a run keeps tens of thousands of
    slim groups). Its strings are shared (``model_post_init``, which copying skips): a
    person read back from a pickle has copies of its own."""
    matched = []
    for m in user.matched:
        group = compact_copy(m, {"entries": []})
        group.model_post_init(None)
        matched.append(group)
    unmatched = []
    for a in user.unmatched:
        activity = compact_copy(a, {"entries": []})
        activity.model_post_init(None)
        unmatched.append(activity)
    slim = compact_copy(user, {"matched": matched, "unmatched": unmatched})
    slim.model_post_init(None)
    return slim


@dataclass(frozen=True)
class TeamDigest:
    """The per-entry results of the team reports: ``day_totals`` of every person, the
    findings of ``team_insights`` (``None``: not computed, as for the Toggl summary) and the
    Toggl name of each matched entity (``views.NameTally``, for ``entity_totals``)."""

    days: tuple[DayTotal, ...]
    packed: PackedFindings | None
    """The findings, compressed (``None``: not computed)."""
    names: Mapping[tuple[str, str], str]

    def findings(self) -> list[Insight]:
        """The team findings in ``sort_insights`` order (unpacked on each call); an error
        when this digest was built without them."""
        return self._packed().in_sort_order()

    def finding_count(self) -> int:
        return len(self._packed())

    def kinds(self) -> tuple[tuple[InsightKind, int], ...]:
        """``kind_counts`` of the findings."""
        return self._packed().kinds

    def top(self, limit: int) -> list[Insight]:
        """The ``limit`` most important findings."""
        return self._packed().top(limit)

    def iter_ranked(self) -> Iterator[Insight]:
        """The findings most important first, unpacked a chunk at a time."""
        return self._packed().ranked()

    def _packed(self) -> PackedFindings:
        if self.packed is None:
            raise ValueError("a team report needs a digest built with insights=True")
        return self.packed


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
        self._insights = FindingRuns() if insights else None
        """Each person's findings, compressed."""
        self._days = DayTally()
        self._names = NameTally()

    def add(self, user: UserAggregate) -> UserAggregate:
        """Count one FULL person (rounded already when the reports are) and return them slim."""
        self.count(user)
        return slim_user(user)

    def count(self, user: UserAggregate) -> None:
        """``add`` without making the slim form, for a caller that holds it already."""
        self._days.add(user)
        self._names.add(user)
        if self._insights is not None:
            # a pool of their own: packed right away, they share nothing with the others
            found = user_insights(user, self._entities, self._settings, self._period)
            self._insights.add(found)

    def finish(self, slim_users: Sequence[UserAggregate]) -> TeamDigest:
        """The digest; ``slim_users`` (every person added, slim or full) give the team-wide
        findings, which need each group's totals only."""
        packed: PackedFindings | None = None
        if self._insights is not None:
            team = estimate_insights(slim_users, self._entities, self._settings)
            packed = self._insights.pack(sort_insights(team))
        return TeamDigest(days=tuple(self._days.totals()), packed=packed, names=self._names.names())


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

    def count(self, user: UserAggregate) -> None:
        """``add`` for a caller that holds every slim person already (``finish``'s ``head``):
        a slim form is made only when rounding changes the person."""
        if self._policy.active:
            self.add(user)
        else:
            self._digest.count(user)

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
