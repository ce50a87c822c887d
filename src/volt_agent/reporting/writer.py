"""Report writers: the ``ReportWriter`` contract and the built-in jinja2 template writer.

A writer turns run data into markdown text and nothing more: the caller decides where the
text is saved (``reports/toggl_summary.md``, ``reports/individual/{user_slug}.md``,
``reports/team_summary.md``). Methods are async so a writer backed by an LLM can await it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Protocol

from jinja2 import Environment, PackageLoader, StrictUndefined

from volt_agent.domain.closing import closed_within
from volt_agent.domain.models import EnrichedData, EnrichedEntity, TogglAggregated, UserAggregate
from volt_agent.reporting.digest import TeamDigest
from volt_agent.reporting.insights import (
    KIND_TITLES,
    PERSON_TOP,
    TEAM_TOP,
    Insight,
    InsightSettings,
    closing_unknown,
    index_entities,
    kind_counts,
    rank_insights,
    team_insights,
    user_insights,
)
from volt_agent.reporting.markdown import (
    fmt_count,
    fmt_date,
    fmt_day,
    fmt_hours,
    fmt_pct,
    fmt_value,
    inline,
)
from volt_agent.reporting.views import (
    DayTotal,
    EntityNames,
    activity_totals,
    coverage_note,
    day_totals,
    days_label,
    days_note,
    entity_details,
    entity_seconds,
    entity_totals,
    person_rows,
    person_summary,
    project_shares,
    top_entity_keys,
    type_shares,
)

TEMPLATE_WRITER_NOTE = "Written by the built-in template writer (no LLM)."


class ReportWriter(Protocol):
    """Writes the markdown reports of a run; returns the text, does not save it."""

    @property
    def name(self) -> str:
        """Short id of the writer recorded with each report, e.g. ``template``."""
        ...

    async def toggl_summary(
        self,
        data: TogglAggregated,
        days: Sequence[DayTotal] | None = None,
        names: EntityNames | None = None,
    ) -> str:
        """``toggl_summary.md``: time per person, entity, activity, type and day.

        ``days`` and ``names``: ``day_totals`` and the entities' Toggl names of the full
        people (``digest.TeamDigest``), computed by the caller; with them ``data`` may hold
        slim people (``digest.slim_user``). ``None``: from ``data``."""
        ...

    async def person_report(
        self,
        user: UserAggregate,
        entities: dict[tuple[str, str], EnrichedEntity],
        period: tuple[date, date],
    ) -> str:
        """``individual/{user_slug}.md`` of one person.

        ``entities`` maps ``(type_key, public_id)`` to the enriched entity; a matched entity
        without a type is looked up under ``aggregation.UNKNOWN_TYPE``.
        """
        ...

    async def team_report(self, data: EnrichedData, digest: TeamDigest | None = None) -> str:
        """``team_summary.md``: accomplishments, focus, allocation and unusual patterns.

        ``digest``: the findings, days and entity names of the full people
        (``digest.DigestBuilder``, with this writer's insight settings); with it ``data`` may
        hold slim people. ``None``: they are computed from ``data``."""
        ...


REPORT_TEMPLATES = ("toggl_summary.md.j2", "person_report.md.j2", "team_summary.md.j2")


def warm_up_templates() -> None:
    """Compile the packaged templates once (about 0.1 s of CPU each): a worker does it at
    start, not in its first run's reports."""
    env = template_environment()
    for name in REPORT_TEMPLATES:
        env.get_template(name)


@functools.cache
def template_environment() -> Environment:
    """The jinja2 environment of the packaged templates, with the report filters (one per
    process: it caches the compiled templates, and rendering from it is thread-safe)."""
    env = Environment(
        loader=PackageLoader("volt_agent", "reporting/templates"),
        # markdown, not HTML: HTML escaping would garble it; the `md` filter escapes input
        autoescape=False,  # noqa: S701
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # packaged templates do not change while a worker runs: no stat of each template
        # file (and of the macros it imports) per report
        auto_reload=False,
    )
    env.filters.update(
        md=inline,
        h=fmt_hours,
        pct=fmt_pct,
        date=fmt_date,
        day=fmt_day,
        count=fmt_count,
        value=fmt_value,
    )
    return env


class TemplateReportWriter:
    """Deterministic reports from templates: no network, no clock; says so in every report."""

    name = "template"

    def __init__(
        self,
        settings: InsightSettings | None = None,
        top_n: int = 10,
        max_comments: int = 3,
    ) -> None:
        self.settings = settings or InsightSettings()
        self.top_n = top_n
        self.max_comments = max_comments
        self._env = template_environment()

    def _render(self, template: str, **context: Any) -> str:
        return self._env.get_template(template).render(
            note=TEMPLATE_WRITER_NOTE, top_n=self.top_n, **context
        )

    # Rendering computes views and insights over every entry and entity: in a thread, so
    # the worker's event loop (heartbeats, polls, other activities) keeps running meanwhile.
    async def toggl_summary(
        self,
        data: TogglAggregated,
        days: Sequence[DayTotal] | None = None,
        names: EntityNames | None = None,
    ) -> str:
        return await asyncio.to_thread(self._toggl_summary, data, days, names)

    async def person_report(
        self,
        user: UserAggregate,
        entities: Mapping[tuple[str, str], EnrichedEntity],
        period: tuple[date, date],
    ) -> str:
        return await asyncio.to_thread(self._person_report, user, entities, period)

    async def team_report(self, data: EnrichedData, digest: TeamDigest | None = None) -> str:
        return await asyncio.to_thread(self._team_report, data, digest)

    def _toggl_summary(
        self, data: TogglAggregated, days: Sequence[DayTotal] | None, names: EntityNames | None
    ) -> str:
        users = data.users
        return self._render(
            "toggl_summary.md.j2",
            start=data.start_date,
            end=data.end_date,
            days_note=days_note(users),
            coverage=coverage_note(data.visibility),
            zone=days_label(users),
            stats=data.statistics,
            users=users,
            entities=entity_totals(users, names=names),
            activities=activity_totals(users),
            types=type_shares(users),
            days=day_totals(users) if days is None else list(days),
        )

    def _person_report(
        self,
        user: UserAggregate,
        entities: Mapping[tuple[str, str], EnrichedEntity],
        period: tuple[date, date],
    ) -> str:
        return self._render(
            "person_report.md.j2",
            start=period[0],
            end=period[1],
            days_note=days_note([user]),
            zone=days_label([user]),
            user=user,
            summary=person_summary(user, entities),
            details=entity_details(user, entities, self.max_comments),
            days=day_totals([user]),
            **_top_insights(user_insights(user, entities, self.settings, period), PERSON_TOP),
        )

    def _team_report(self, data: EnrichedData, digest: TeamDigest | None) -> str:
        aggregated = data.aggregated
        users = aggregated.users
        index = index_entities(data.entities)
        start, end = aggregated.start_date, aggregated.end_date
        seconds = entity_seconds(users)
        found = [entity for key in seconds if (entity := index.get(key)) is not None]
        statuses = [entity.status for entity in found]
        closed_keys = {
            (e.type_key, e.public_id)
            for e in found
            if self.settings.is_closed(e) and closed_within(e, start, end)
        }
        top_keys = set(top_entity_keys(seconds, self.top_n))
        names = digest.names if digest else None
        totals = entity_totals(users, index, names, keys=closed_keys | top_keys)
        return self._render(
            "team_summary.md.j2",
            start=aggregated.start_date,
            end=aggregated.end_date,
            days_note=days_note(users),
            coverage=coverage_note(aggregated.visibility),
            stats=aggregated.statistics,
            status_counts={s: statuses.count(s) for s in ("found", "not_found", "error")},
            not_enriched=len(seconds) - len(found),
            closed_states=sorted(self.settings.closed_states),
            closed=[t for t in totals if (t.type_key, t.public_id) in closed_keys],
            closing_unknown=[
                f"{k.type_key} #{k.public_id}" for k in closing_unknown(data, self.settings)
            ],
            entities=[t for t in totals if (t.type_key, t.public_id) in top_keys],
            types=type_shares(users),
            projects=project_shares(users),
            people=person_rows(users, index),
            **_team_findings(data, self.settings, digest),
        )


def _team_findings(
    data: EnrichedData, settings: InsightSettings, digest: TeamDigest | None
) -> dict[str, Any]:
    """The team findings' count, kinds and most important ones (the digest's, unpacking only
    those; without a digest computed from ``data``)."""
    if digest is None:
        insights = team_insights(data, settings)
        count, kinds = len(insights), tuple(kind_counts(insights))
        top = _top_insights(insights, TEAM_TOP)
    else:
        count, kinds = digest.finding_count(), digest.kinds()
        found = digest.top(TEAM_TOP)
        top = {"insights": found, "more_insights": count - len(found)}
    return {
        "insight_count": count,
        "insight_kinds": [(KIND_TITLES[kind], n) for kind, n in kinds],
        **top,
    }


def _top_insights(insights: list[Insight], limit: int) -> dict[str, Any]:
    """The ``limit`` most important findings and how many more ``report.html`` lists."""
    ranked = rank_insights(insights)
    return {"insights": ranked[:limit], "more_insights": len(ranked[limit:])}
