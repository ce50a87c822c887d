"""``trends.json`` in the reports: a Markdown section for the team summary and each person's
report, and an inline SVG chart (hours per person, this vs the previous period) for
``report.html``. Pure; no scripts, so ``report.html`` keeps its Content-Security-Policy."""

from __future__ import annotations

from html import escape

from volt_agent.reporting.markdown import fmt_hours, truncate
from volt_agent.reporting.trends import Delta, Trends

HEADING = "## Compared with the previous week"
CHART_ID = "trend-chart"
ROW = 30
BAR = 11
LABEL_WIDTH = 200
PLOT_WIDTH = 420
VALUE_WIDTH = 150
LABEL_LIMIT = 28
PREVIOUS_FILL = "#9aa5b1"
CURRENT_FILL = "#2f6fbf"


def signed_hours(seconds: int) -> str:
    """``+1.25 h`` / ``-0.50 h`` / ``±0.00 h``."""
    if seconds == 0:
        return "±0.00 h"
    return f"{'+' if seconds > 0 else '-'}{fmt_hours(abs(seconds))} h"


def signed_points(points: float) -> str:
    if points == 0:
        return "±0.0 pp"
    return f"{'+' if points > 0 else '-'}{abs(points):.1f} pp"


def compared_with(trends: Trends) -> str:
    """The heading's tail: which run and period, or why there was no comparison."""
    if trends.previous_run_id is None:
        return f"No comparison was possible: {trends.reason}"
    return (
        f"Compared with run {trends.previous_run_id}"
        f" ({trends.previous_start_date} to {trends.previous_end_date})."
    )


def _row(delta: Delta) -> str:
    label = delta.label.replace("|", "\\|")
    return (
        f"| {label} | {fmt_hours(delta.previous_seconds)} |"
        f" {fmt_hours(delta.current_seconds)} | {signed_hours(delta.delta_seconds)} |"
    )


def _table(title: str, rows: list[Delta]) -> list[str]:
    return [
        f"### {title}",
        "",
        "| | Previous (h) | This period (h) | Change |",
        "|---|---:|---:|---:|",
        *(_row(d) for d in rows),
        "",
    ]


def team_trend_section(trends: Trends) -> str:
    """The team summary's section: totals, matched share, per person/type/project, closed."""
    lines = [HEADING, "", compared_with(trends), ""]
    if trends.previous_run_id is None:
        return "\n".join(lines)
    previous = sum(d.previous_seconds for d in trends.hours_per_person)
    current = sum(d.current_seconds for d in trends.hours_per_person)
    lines += [
        f"- Total: {fmt_hours(current)} h ({signed_hours(current - previous)};"
        f" previous {fmt_hours(previous)} h)",
        f"- Matched share: {trends.matched_share_current:.1f}%"
        f" ({signed_points(trends.matched_share_delta_pp or 0.0)};"
        f" previous {trends.matched_share_previous:.1f}%)",
        f"- Entities newly closed: {len(trends.newly_closed)}",
        "",
        *_table("Hours per person", trends.hours_per_person),
        *_table("Hours per type", trends.hours_per_type),
        *_table("Hours per project", trends.hours_per_project),
    ]
    if trends.newly_closed:
        lines += ["### Newly closed", ""]
        lines += [
            f"- {c.type_key} #{c.public_id}" + (f" {c.name}" if c.name else "")
            for c in trends.newly_closed
        ]
        lines.append("")
    return "\n".join(lines)


def person_trend_section(trends: Trends, user_id: int) -> str:
    """One person's short section: their hours this vs the previous period."""
    lines = [HEADING, "", compared_with(trends)]
    if trends.previous_run_id is None:
        return "\n".join([*lines, ""])
    row = next((d for d in trends.hours_per_person if d.key == str(user_id)), None)
    if row is None:
        return "\n".join([*lines, "", "- No time in either period.", ""])
    return "\n".join(
        [
            *lines,
            "",
            f"- Hours: {fmt_hours(row.current_seconds)} h ({signed_hours(row.delta_seconds)};"
            f" previous {fmt_hours(row.previous_seconds)} h)",
            "",
        ]
    )


def with_section(markdown: str, section: str) -> str:
    return f"{markdown.rstrip()}\n\n{section.rstrip()}\n"


def trend_chart_svg(trends: Trends) -> str:
    """A ``<section>`` with paired bars per person (previous grey, this period blue), or the
    one-line reason when nothing was compared."""
    title = "Hours per person: this vs previous period"
    if trends.previous_run_id is None:
        reason = escape(compared_with(trends))
        return f'<section id="{CHART_ID}"><h2>Trend</h2><p>{reason}</p></section>'
    rows = trends.hours_per_person
    largest = max([1, *(max(d.previous_seconds, d.current_seconds) for d in rows)])
    scale = PLOT_WIDTH / largest
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    height = ROW * len(rows) + 30
    parts = [
        f'<svg role="img" viewBox="0 0 {width} {height}" width="100%"'
        f' aria-labelledby="{CHART_ID}-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{CHART_ID}-title">{escape(title)}</title>',
    ]
    for index, delta in enumerate(rows):
        y = index * ROW + 4
        label = escape(truncate(delta.label, LABEL_LIMIT))
        parts += [
            f'<text x="0" y="{y + BAR + 4}" font-size="12">{label}</text>',
            _bar(
                y, delta.previous_seconds * scale, PREVIOUS_FILL, "previous", delta.previous_seconds
            ),
            _bar(
                y + BAR + 1,
                delta.current_seconds * scale,
                CURRENT_FILL,
                "this period",
                delta.current_seconds,
            ),
            f'<text x="{LABEL_WIDTH + PLOT_WIDTH + 6}" y="{y + BAR + 4}" font-size="12">'
            f"{fmt_hours(delta.current_seconds)} h"
            f" ({escape(signed_hours(delta.delta_seconds))})</text>",
        ]
    legend_y = ROW * len(rows) + 18
    parts += [
        _swatch(LABEL_WIDTH, legend_y - 9, PREVIOUS_FILL),
        f'<text x="{LABEL_WIDTH + 14}" y="{legend_y}" font-size="12">previous</text>',
        _swatch(LABEL_WIDTH + 90, legend_y - 9, CURRENT_FILL),
        f'<text x="{LABEL_WIDTH + 104}" y="{legend_y}" font-size="12">this period</text>',
        "</svg>",
    ]
    intro = escape(compared_with(trends))
    return f'<section id="{CHART_ID}"><h2>Trend</h2><p>{intro}</p>{"".join(parts)}</section>'


def _swatch(x: int, y: int, fill: str) -> str:
    return f'<rect x="{x}" y="{y}" width="10" height="10" fill="{fill}"/>'


def _bar(y: float, length: float, fill: str, which: str, seconds: int) -> str:
    return (
        f'<rect x="{LABEL_WIDTH}" y="{y:.1f}" width="{length:.1f}" height="{BAR}" fill="{fill}">'
        f"<title>{which}: {fmt_hours(seconds)} h</title></rect>"
    )
