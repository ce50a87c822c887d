"""``reports/report.html``: one self-contained page of charts and tables for a run.

No network: CSS is inline, charts are inline SVG computed in Python (``html_charts``), and a
Content-Security-Policy forbids scripts and every remote load. The template is rendered
with jinja2 autoescaping, so any text from Toggl or Fibery is shown, never interpreted.
Written by code from ``enriched_data.json``; deterministic (no clock).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from volt_agent.domain.models import EnrichedData, EnrichedEntity
from volt_agent.reporting.digest import TeamDigest
from volt_agent.reporting.html_charts import (
    BarChart,
    ColumnChart,
    Donut,
    bar_chart,
    column_chart,
    donut,
)
from volt_agent.reporting.insights import (
    Insight,
    InsightSettings,
    index_entities,
    rank_insights,
    team_insights,
)
from volt_agent.reporting.markdown import fmt_day, fmt_hours, fmt_pct
from volt_agent.reporting.views import (
    coverage_note,
    day_totals,
    days_label,
    entity_seconds,
    entity_totals,
    person_rows,
    top_entity_keys,
    type_shares,
)

REPORT_HTML = "reports/report.html"
TOP_ENTITIES = 15
NO_REFERENCE = "(no Fibery reference)"


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    detail: str = ""


@dataclass(frozen=True)
class FindingLines:
    """``(severity, message)`` of each team finding, most important first: of ``ranked``, or
    of the digest's findings, unpacked a chunk at a time on each pass (the page is
    streamed: its tens of thousands of findings at org scale are never all in memory)."""

    ranked: tuple[Insight, ...] = ()
    digest: TeamDigest | None = None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        found = self.ranked if self.digest is None else self.digest.iter_ranked()
        return ((i.severity, i.message) for i in found)

    def __len__(self) -> int:
        return len(self.ranked) if self.digest is None else self.digest.finding_count()


@dataclass(frozen=True)
class HtmlReport:
    title: str
    start: str
    end: str
    days: str
    """The zone of the days: one zone, or each person's own."""
    coverage: str
    """Whose entries are missing because the token is not an admin ("" when none)."""
    cards: tuple[Card, ...]
    charts: tuple[BarChart | ColumnChart | Donut, ...]
    people: tuple[dict[str, Any], ...]
    entities: tuple[dict[str, Any], ...]
    insights: FindingLines
    rounding: str = ""
    """The rounding policy line ("" when hours are not rounded)."""


@functools.cache
def html_environment() -> Environment:
    """One per process: it caches the compiled page template (see ``template_environment``)."""
    env = Environment(
        loader=PackageLoader("volt_agent", "reporting/templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # packaged templates: see ``writer.template_environment``
    )
    env.filters.update(h=fmt_hours, pct=fmt_pct)
    return env


def _status_label(entity: EnrichedEntity | None) -> str:
    if entity is None:
        return "not enriched"
    if entity.status == "found":
        return str(entity.state or "—")
    return "not found in Fibery" if entity.status == "not_found" else "Fibery error"


def build_report(
    data: EnrichedData,
    settings: InsightSettings | None = None,
    digest: TeamDigest | None = None,
) -> HtmlReport:
    """The page's content: cards, charts, tables, findings.

    With a ``digest`` (of the full people: ``digest.DigestBuilder``) its days, findings and
    entity names are shown and ``settings`` is not used; ``data`` may then hold slim people. Without
    one, both are computed from ``data`` (findings with ``settings``)."""
    aggregated = data.aggregated
    stats = aggregated.statistics
    users = aggregated.users
    index = index_entities(data.entities)
    shown = top_entity_keys(entity_seconds(users), TOP_ENTITIES)
    top = entity_totals(users, index, digest.names if digest else None, keys=set(shown))
    total = stats.total_seconds
    statuses = [e.status for e in data.entities]
    cards = (
        Card("People", str(stats.user_count)),
        Card("Total", f"{fmt_hours(total)} h", f"{stats.entry_count} entries"),
        Card(
            "On Fibery entities",
            f"{fmt_hours(stats.matched_seconds)} h",
            fmt_pct(stats.matched_seconds, total),
        ),
        Card(
            "Without a Fibery reference",
            f"{fmt_hours(stats.unmatched_seconds)} h",
            fmt_pct(stats.unmatched_seconds, total),
        ),
        Card(
            "Fibery entities",
            str(stats.unique_entity_count),
            f"found {statuses.count('found')}, not found {statuses.count('not_found')},"
            f" errors {statuses.count('error')}",
        ),
    )
    type_rows: list[tuple[str, Sequence[tuple[str, int]]]] = [
        (s.label, [("matched", s.seconds)]) for s in type_shares(users)
    ]
    if stats.unmatched_seconds:
        type_rows.append((NO_REFERENCE, [("unmatched", stats.unmatched_seconds)]))
    charts = (
        bar_chart(
            "chart-people",
            "Hours per person",
            [
                (u.user_name, [("matched", u.matched_seconds), ("unmatched", u.unmatched_seconds)])
                for u in users
            ],
        ),
        donut("chart-share", "Matched vs unmatched time", stats.matched_seconds, total),
        bar_chart("chart-types", "Hours per entity type", type_rows),
        bar_chart(
            "chart-entities",
            f"Top {len(top)} entities",
            [(f"#{t.public_id} {t.name}", [("matched", t.seconds)]) for t in top],
        ),
        column_chart(
            "chart-days",
            f"Hours per day ({days_label(users)})",
            [
                (fmt_day(d.day), d.day.isoformat()[5:], d.matched_seconds, d.unmatched_seconds)
                for d in (day_totals(users) if digest is None else digest.days)
            ],
        ),
    )
    people = tuple(
        {
            "name": row.user.user_name,
            "total": row.user.total_seconds,
            "matched": row.user.matched_seconds,
            "unmatched": row.user.unmatched_seconds,
            "entities": len(row.user.matched),
            "report": f"individual/{row.slug}.md",
        }
        for row in person_rows(users, index)
    )
    entities = tuple(
        {
            "type_key": t.type_key,
            "id": t.public_id,
            "name": t.name,
            "state": _status_label(t.entity),
            "seconds": t.seconds,
            "people": ", ".join(p.name for p in t.people[:5]),
        }
        for t in top
    )
    if digest is None:
        insights = FindingLines(ranked=tuple(rank_insights(team_insights(data, settings))))
    else:
        insights = FindingLines(digest=digest)
    return HtmlReport(
        title="Team time report",
        start=aggregated.start_date.isoformat(),
        end=aggregated.end_date.isoformat(),
        days=days_label(users),
        coverage=coverage_note(aggregated.visibility, markdown=False),
        cards=cards,
        charts=charts,
        people=people,
        entities=entities,
        insights=insights,
    )


def render_html_report(
    data: EnrichedData,
    settings: InsightSettings | None = None,
    *,
    rounding: str = "",
    digest: TeamDigest | None = None,
) -> str:
    """The whole ``report.html`` text; ``rounding`` is the policy line of rounded ``data``;
    ``digest``: see ``build_report``."""
    template, context = _page(data, settings, rounding, digest)
    return template.render(context)


def _page(
    data: EnrichedData, settings: InsightSettings | None, rounding: str, digest: TeamDigest | None
) -> tuple[Template, dict[str, Any]]:
    """The page's template and what it is rendered with."""
    report = replace(build_report(data, settings, digest), rounding=rounding)
    context = {"report": report, "total": data.aggregated.statistics.total_seconds}
    return html_environment().get_template("report.html.j2"), context


PAGE_END = "</main>"
_HELD = 4096
"""Characters held back while streaming: the page's last ``</main>`` is within them."""


def html_report_chunks(
    data: EnrichedData,
    settings: InsightSettings | None = None,
    *,
    rounding: str = "",
    digest: TeamDigest | None = None,
    appendix: str = "",
    chunk: int = 256 * 1024,
) -> Iterator[bytes]:
    """``render_html_report``'s page, encoded a chunk at a time as the template renders it
    (the page lists every finding: on a large run it is the largest text of the run), with
    ``appendix`` and a newline put before its last ``</main>``."""
    pending: list[str] = []
    size = 0
    template, context = _page(data, settings, rounding, digest)
    for piece in template.generate(context):
        pending.append(piece)
        size += len(piece)
        if size >= chunk + _HELD:
            text = "".join(pending)
            yield text[:-_HELD].encode("utf-8")
            pending, size = [text[-_HELD:]], _HELD
    text = "".join(pending)
    at = text.rfind(PAGE_END)
    if at < 0:
        raise ValueError(f"report.html.j2 rendered no {PAGE_END}")
    yield f"{text[:at]}{appendix}\n{text[at:]}".encode()
