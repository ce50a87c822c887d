"""Chart geometry for the HTML report: bars and a donut as numbers, drawn as inline SVG.

Pure. Coordinates are in SVG user units of a fixed ``viewBox``; the template only places
rectangles and text, so no chart library and no network are needed. Labels are plain text
(escaped by the template).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from volt_agent.reporting.markdown import fmt_hours, truncate

BAR_HEIGHT = 22
BAR_GAP = 8
LABEL_WIDTH = 230
VALUE_WIDTH = 80
PLOT_WIDTH = 460
WIDTH = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
LABEL_LIMIT = 34


@dataclass(frozen=True)
class Segment:
    css: str
    """CSS class: ``matched``, ``unmatched`` or ``plain``."""
    x: float
    width: float
    seconds: int
    title: str


@dataclass(frozen=True)
class Bar:
    label: str
    y: float
    segments: tuple[Segment, ...]
    value: str
    """Total hours shown right of the bar."""
    value_x: float


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, one row per item, scaled to the largest total."""

    kind: ClassVar[str] = "bar"

    id: str
    title: str
    bars: tuple[Bar, ...]
    width: int
    height: int
    label_width: int = LABEL_WIDTH


@dataclass(frozen=True)
class Column:
    label: str
    short: str
    """Label under the column."""
    x: float
    width: float
    segments: tuple[tuple[str, float, float, int, str], ...]
    """``(css, y, height, seconds, title)`` from the bottom up."""
    value: str


@dataclass(frozen=True)
class ColumnChart:
    """Vertical stacked columns (days)."""

    kind: ClassVar[str] = "columns"

    id: str
    title: str
    columns: tuple[Column, ...]
    width: int
    height: int
    baseline: float


@dataclass(frozen=True)
class Donut:
    """Two-part ring: ``matched`` and ``unmatched`` share of all time."""

    kind: ClassVar[str] = "donut"

    id: str
    title: str
    radius: float
    circumference: float
    matched_length: float
    matched_pct: str
    unmatched_pct: str


def _scale(largest: int) -> float:
    return PLOT_WIDTH / largest if largest > 0 else 0.0


def bar_chart(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[str, Sequence[tuple[str, int]]]],
) -> BarChart:
    """Rows of ``(label, [(css, seconds), …])``; segments of a row are stacked left to right."""
    scale = _scale(max((sum(s for _, s in parts) for _, parts in rows), default=0))
    bars = []
    for index, (label, parts) in enumerate(rows):
        x = float(LABEL_WIDTH)
        segments = []
        short = truncate(label, LABEL_LIMIT)
        for css, seconds in parts:
            width = round(seconds * scale, 2)
            hours = fmt_hours(seconds)
            name = {"matched": "on Fibery entities", "unmatched": "without a Fibery reference"}
            suffix = f" {name[css]}" if css in name else ""
            segments.append(
                Segment(css, round(x, 2), width, seconds, f"{label}: {hours} h{suffix}")
            )
            x += width
        total = sum(s for _, s in parts)
        bars.append(
            Bar(
                label=short,
                y=index * (BAR_HEIGHT + BAR_GAP) + BAR_GAP,
                segments=tuple(segments),
                value=f"{fmt_hours(total)} h",
                value_x=round(x + 6, 2),
            )
        )
    height = len(rows) * (BAR_HEIGHT + BAR_GAP) + BAR_GAP
    return BarChart(chart_id, title, tuple(bars), WIDTH, max(height, BAR_HEIGHT + 2 * BAR_GAP))


def column_chart(
    chart_id: str,
    title: str,
    columns: Sequence[tuple[str, str, int, int]],
    plot_height: int = 180,
) -> ColumnChart:
    """Columns of ``(label, short label, matched s, unmatched s)``, matched at the bottom."""
    largest = max((m + u for _, _, m, u in columns), default=0)
    scale = plot_height / largest if largest > 0 else 0.0
    slot = max(28.0, min(90.0, (WIDTH - 40) / max(len(columns), 1)))
    top = 20.0
    baseline = top + plot_height
    built = []
    for index, (label, short, matched, unmatched) in enumerate(columns):
        x = 20 + index * slot + slot * 0.15
        y = baseline
        parts = []
        for css, seconds in (("matched", matched), ("unmatched", unmatched)):
            h = round(seconds * scale, 2)
            y -= h
            tooltip = f"{label}: {fmt_hours(seconds)} h {css}"
            parts.append((css, round(y, 2), h, seconds, tooltip))
        built.append(
            Column(
                label,
                short,
                round(x, 2),
                round(slot * 0.7, 2),
                tuple(parts),
                fmt_hours(matched + unmatched),
            )
        )
    width = int(max(WIDTH, 40 + slot * len(columns)))
    return ColumnChart(chart_id, title, tuple(built), width, int(baseline + 44), baseline)


def donut(chart_id: str, title: str, matched: int, total: int, radius: float = 60) -> Donut:
    circumference = 2 * math.pi * radius
    share = matched / total if total > 0 else 0.0
    return Donut(
        chart_id,
        title,
        radius,
        round(circumference, 3),
        round(circumference * share, 3),
        f"{share * 100:.1f}%",
        f"{(1 - share) * 100:.1f}%" if total > 0 else "0.0%",
    )
