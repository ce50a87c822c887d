"""What the web page shows, computed from the service layer's models: pure, no I/O.

Values are plain strings and numbers; the templates escape them (autoescape), so text from
Toggl, Fibery or a run's parameters is shown, never interpreted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from volt_agent.pipeline.types import Progress
from volt_agent.runs import RunSummary

DASH = "—"
UI_PREFIX = "/ui"
WORKFLOW_PREFIX = "toggl-fibery-"


@dataclass(frozen=True)
class Totals:
    """A run's totals from ``statistics.aggregation`` (present once Toggl's stage ran)."""

    users: int
    entries: int
    hours: float
    entities: int
    matched_share: float | None
    """Matched entries / all entries, 0..1; ``None`` without entries."""


@dataclass(frozen=True)
class RunRow:
    run_id: str
    url: str
    status: str
    folder_status: str | None
    period: str
    people: str
    created: str
    duration: str
    totals: Totals | None
    warnings: int
    error: str | None


@dataclass(frozen=True)
class ProgressView:
    stage: str
    activity: str
    step: str
    percentage: float
    eta: str
    elapsed: str
    waiting: str | None
    details: list[tuple[str, int, int]]


def fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else DASH


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def fmt_share(share: float | None) -> str:
    return DASH if share is None else f"{share * 100:.0f} %"


def totals(statistics: dict[str, Any]) -> Totals | None:
    """Totals from a run's statistics, ``None`` when its Toggl stage has not finished."""
    aggregation = statistics.get("aggregation")
    if not isinstance(aggregation, dict):
        return None
    try:
        entries = int(aggregation.get("entries", 0))
        matched = int(aggregation.get("matched_entries", 0))
        return Totals(
            users=int(aggregation.get("users", 0)),
            entries=entries,
            hours=round(int(aggregation.get("total_seconds", 0)) / 3600, 1),
            entities=int(aggregation.get("entities", 0)),
            matched_share=matched / entries if entries else None,
        )
    except (TypeError, ValueError):
        return None


def period(parameters: dict[str, Any]) -> str:
    start, end = parameters.get("start_date"), parameters.get("end_date")
    if not start or not end:
        return DASH
    return f"{start} \u2013 {end}"


def people(parameters: dict[str, Any]) -> str:
    users = parameters.get("users")
    if not users:
        return "everyone"
    if isinstance(users, list):
        return ", ".join(str(u) for u in users)
    return str(users)


def run_url(run_id: str) -> str:
    return f"{UI_PREFIX}/runs/{quote(run_id, safe='')}"


def report_url(run_id: str, path: str) -> str:
    return f"{run_url(run_id)}/reports/{quote(path, safe='/')}"


def run_row(summary: RunSummary, statistics: dict[str, Any]) -> RunRow:
    return RunRow(
        run_id=summary.run_id,
        url=run_url(summary.run_id),
        status=summary.status,
        folder_status=summary.folder_status if summary.folder_status != summary.status else None,
        period=period(summary.parameters),
        people=people(summary.parameters),
        created=fmt_time(summary.created_at),
        duration=fmt_duration(summary.duration_seconds),
        totals=totals(statistics),
        warnings=len(summary.warnings),
        error=summary.error,
    )


def progress_view(progress: Progress) -> ProgressView:
    return ProgressView(
        stage=progress.current_stage,
        activity=progress.current_activity or DASH,
        step=f"{progress.activity_index} of {progress.activities_total}",
        percentage=round(max(0.0, min(progress.percentage, 100.0)), 1),
        eta=fmt_duration(progress.eta_seconds),
        elapsed=fmt_duration(progress.elapsed_seconds),
        waiting=progress.waiting,
        details=[(name, p.done, p.total) for name, p in sorted(progress.details.items())],
    )


def run_id_of(workflow_id: str) -> str | None:
    """The run id of a pipeline workflow id, for links from a schedule's recent runs."""
    if workflow_id.startswith(WORKFLOW_PREFIX):
        return workflow_id.removeprefix(WORKFLOW_PREFIX)
    return None


def last_week(today: date) -> tuple[date, date]:
    """Monday to Sunday of the week before ``today``'s: the start form's default."""
    monday = today - timedelta(days=today.weekday() + 7)
    return monday, monday + timedelta(days=6)


def safe_next(target: str | None) -> str:
    """Where to go after login: a path of the web page, never another site."""
    if (
        not target
        or not target.startswith(UI_PREFIX)
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 0x21 for c in target)
    ):
        return UI_PREFIX
    rest = target[len(UI_PREFIX) :]
    return target if rest == "" or rest[0] in "/?" else UI_PREFIX


def flat_statistics(statistics: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """``statistics`` as ``("aggregation.entries", "412")`` rows: scalars only, in key order."""
    rows: list[tuple[str, str]] = []
    for key in sorted(statistics):
        value, name = statistics[key], f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(flat_statistics(value, f"{name}."))
        elif isinstance(value, bool | int | float | str) or value is None:
            rows.append((name, DASH if value is None else str(value)))
    return rows


def ordered_reports(paths: list[str]) -> list[str]:
    """``report.html`` first, then the team summary, then the rest as listed."""
    first = ("report.html", "team_summary.md", "toggl_summary.md")
    return [p for p in first if p in paths] + [p for p in paths if p not in first]
