"""CPU seconds and resident memory of the worker per stage of a run.

A daemon thread samples the worker every ``interval`` seconds: wall clock (``time.time()``),
user+sys CPU seconds of the process and of its children (those it waited for and those still
running, from ``/proc/<pid>/stat``), and ``VmRSS``. The stages are windows of the workflow
history (``stage_windows``), whose timestamps come from the Temporal dev server on this same
machine, so both share the wall clock. ``attribute`` splits the CPU used between two samples
over the windows in proportion to time, and gives each window the larger ``VmRSS`` of the two.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from benchmarks.measure import KIB, MIB, STAGE_ACTIVITIES
from volt_agent.pipeline.loop_probe import GcPause, Stall, gc_seconds_in

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
OTHER = "other"
ENRICH_ACTIVITIES = STAGE_ACTIVITIES["fibery_enrich"]
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fetch", ("fetch_toggl_data",)),
    ("aggregate_toggl_report", ("generate_toggl_report",)),
    ("enrich", ENRICH_ACTIVITIES),
    ("person_reports", ("generate_person_reports",)),
    ("team_report", ("generate_team_report",)),
)
"""Stages in workflow order with the remote activities that close them. Each stage runs from
the end of the one before (the fetch: from its own schedule) to the last close of its
activities, so the local activities in between count with the stage they prepare or finish:
``aggregate_toggl_data`` with the Toggl report, ``cleanup_fibery_stage`` and
``extract_fibery_entities`` with enrichment, ``save_enriched_data`` with the team report.
``other``: the rest of the workflow (cleanup, run status records, delivery)."""


@dataclass(frozen=True)
class Sample:
    at: float
    """Wall clock, seconds since the epoch."""
    cpu_seconds: float
    rss_bytes: int


@dataclass(frozen=True)
class Window:
    stage: str
    start: float
    end: float


@dataclass
class StageUse:
    cpu_seconds: float = 0.0
    peak_rss_bytes: int = 0
    seconds: float = 0.0
    """Wall seconds of the stage's windows."""

    def as_dict(self) -> dict[str, float]:
        return {
            "cpu_seconds": round(self.cpu_seconds, 2),
            "peak_rss_mib": round(self.peak_rss_bytes / MIB, 1),
            "seconds": round(self.seconds, 2),
        }


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return text.rpartition(")")[2].split()  # the command name may hold spaces and ')'


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found += [int(c) for c in (task / "children").read_text(encoding="ascii").split()]
        except (OSError, ValueError):
            continue
    return found


def cpu_seconds(pid: int) -> float | None:
    """User+sys CPU seconds of ``pid``, its waited-for children and its live descendants."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    total = (utime + stime + cutime + cstime) / CLOCK_TICKS
    for child in _children(pid):
        total += cpu_seconds(child) or 0.0
    return total


def rss_bytes(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * KIB
    return None


class ProcessSampler:
    """Samples one process's CPU seconds and ``VmRSS`` every ``interval`` s in a thread."""

    def __init__(self, interval: float = 0.1) -> None:
        self._interval = interval
        self._pid: int | None = None
        self._samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)

    def watch(self, pid: int) -> None:
        self._pid = pid
        self.sample()
        if not self._thread.is_alive():
            self._thread.start()

    def sample(self) -> None:
        pid = self._pid
        if pid is None:
            return
        at = time.time()
        cpu, rss = cpu_seconds(pid), rss_bytes(pid)
        if cpu is not None and rss is not None:
            with self._lock:
                self._samples.append(Sample(at, cpu, rss))

    def samples(self) -> list[Sample]:
        with self._lock:
            return list(self._samples)

    def __enter__(self) -> ProcessSampler:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()


_CLOSED = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}


def _epoch(event: HistoryEvent) -> float:
    micros: int = event.event_time.ToMicroseconds()
    return micros / 1_000_000


def activity_spans(events: Sequence[HistoryEvent]) -> dict[str, list[tuple[float, float]]]:
    """Per remote activity type: (scheduled, closed) wall-clock times of each execution."""
    scheduled: dict[int, tuple[str, float]] = {}
    spans: dict[str, list[tuple[float, float]]] = {}
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[event.event_id] = (name, _epoch(event))
        elif (attr := _CLOSED.get(event.event_type)) is not None:
            name, at = scheduled[getattr(event, attr).scheduled_event_id]
            spans.setdefault(name, []).append((at, _epoch(event)))
    return spans


def stage_windows(
    spans: dict[str, list[tuple[float, float]]], workflow_start: float, workflow_end: float
) -> list[Window]:
    """Consecutive windows of ``STAGES`` (see there); a stage that did not run has none."""
    windows: list[Window] = []
    boundary: float | None = None
    for stage, names in STAGES:
        runs = [span for name in names for span in spans.get(name, [])]
        if not runs:
            continue
        start = boundary if boundary is not None else min(s for s, _ in runs)
        end = max(e for _, e in runs)
        windows.append(Window(stage, max(start, workflow_start), min(end, workflow_end)))
        boundary = end
    return windows


def stage_of(moment: float, windows: Sequence[Window]) -> str:
    for window in windows:
        if window.start <= moment < window.end:
            return window.stage
    return OTHER


def attribute(
    samples: Sequence[Sample], windows: Sequence[Window], start: float, end: float
) -> dict[str, StageUse]:
    """CPU seconds and peak RSS per stage (plus ``other``) between ``start`` and ``end``.

    The CPU used between two consecutive samples is spread evenly over their interval and
    each piece of it goes to the stage whose window holds it; a stage's peak RSS is the
    larger reading of every pair of samples that overlaps it."""
    uses: dict[str, StageUse] = {w.stage: StageUse() for w in windows}
    uses[OTHER] = StageUse()
    cuts = sorted({start, end, *(w.start for w in windows), *(w.end for w in windows)})
    for before, after in pairwise(samples):
        lo, hi = max(before.at, start), min(after.at, end)
        if hi <= lo or after.at <= before.at:
            continue
        rate = (after.cpu_seconds - before.cpu_seconds) / (after.at - before.at)
        points = [lo, *(c for c in cuts if lo < c < hi), hi]
        for a, b in pairwise(points):
            use = uses[stage_of((a + b) / 2, windows)]
            use.cpu_seconds += rate * (b - a)
            use.seconds += b - a
            use.peak_rss_bytes = max(use.peak_rss_bytes, before.rss_bytes, after.rss_bytes)
    return uses


@dataclass
class CpuReport:
    """What the results file says about the worker's CPU and memory during the run."""

    stages: dict[str, StageUse] = field(default_factory=dict)
    entries: int = 0

    @property
    def total_cpu_seconds(self) -> float:
        return sum(use.cpu_seconds for use in self.stages.values())

    def as_dict(self) -> dict[str, Any]:
        total = self.total_cpu_seconds
        per_10k = total / self.entries * 10_000 if self.entries else 0.0
        return {
            "non_api_cpu_seconds": round(total, 2),
            "cpu_seconds_per_10k_entries": round(per_10k, 2),
            "stages": {name: use.as_dict() for name, use in self.stages.items()},
        }


def cpu_report(
    samples: Sequence[Sample], events: Sequence[HistoryEvent], entries: int
) -> CpuReport:
    """The worker's CPU and RSS per stage over the workflow's lifetime (its history)."""
    start, end = _epoch(events[0]), _epoch(events[-1])
    windows = stage_windows(activity_spans(events), start, end)
    return CpuReport(attribute(samples, windows, start, end), entries)


def loop_facts(probe_file: Path, events: Sequence[HistoryEvent]) -> dict[str, Any]:
    """The longest callback of the worker's event loop during the workflow (``--loop-probe``,
    ``volt_agent.pipeline.loop_probe``). With no callback over the probe's recording
    threshold, ``max_block_ms`` is that threshold (every callback was shorter)."""
    if not probe_file.exists():
        return {}
    report = json.loads(probe_file.read_text(encoding="utf-8"))
    stalls = [Stall(**s) for s in report["stalls"]]
    pauses = [GcPause(**p) for p in report.get("gc_pauses", [])]
    start, end = _epoch(events[0]), _epoch(events[-1])
    windows = stage_windows(activity_spans(events), start, end)
    inside = sorted(
        (s for s in stalls if s.started_at <= end and s.ended_at >= start),
        key=lambda s: -s.seconds,
    )
    longest = inside[0] if inside else None
    threshold = float(report["record_over_ms"])
    described = [_stall_facts(s, pauses, windows) for s in inside[:5]]
    return {
        "max_block_ms": described[0]["ms"] if described else threshold,
        "below_threshold": longest is None,
        **({k: v for k, v in described[0].items() if k != "ms"} if described else {}),
        "longest_gc_pause_ms": round(
            max((p.seconds for p in pauses if start <= p.ended_at <= end), default=0.0) * 1000, 1
        ),
        "stalls_over_100ms": sum(s.seconds > 0.1 for s in inside),
        "gc_seconds": report.get("gc_seconds", 0.0),
        "gc_collections": report.get("gc_collections", 0),
        "longest": described,
    }


def _stall_facts(stall: Stall, pauses: list[GcPause], windows: list[Window]) -> dict[str, Any]:
    return {
        "ms": round(stall.seconds * 1000, 1),
        "loop_cpu_ms": round(stall.loop_cpu_seconds * 1000, 1),
        "gc_ms": round(gc_seconds_in(stall, pauses) * 1000, 1),
        "stage": stage_of(stall.started_at, windows),
        "activity": stall.activity,
        "callback": stall.callback,
        "where": stall.where,
        "stack": stall.stack,
        "threads": stall.threads,
    }


def resource_summary(
    samples: Sequence[Sample], events: Sequence[HistoryEvent], entries: int, probe_file: Path
) -> dict[str, Any]:
    """``cpu`` and ``event_loop`` of a results file's ``pipeline``."""
    return {
        "cpu": cpu_report(samples, events, entries).as_dict(),
        "event_loop": loop_facts(probe_file, events),
    }


def resource_lines(pipeline: dict[str, Any]) -> list[str]:
    """The summary lines about CPU, RSS per stage and the event loop."""
    cpu, loop = pipeline.get("cpu"), pipeline.get("event_loop")
    lines = []
    if cpu:
        stages = ", ".join(
            f"{name} {use['cpu_seconds']:.1f} s / {use['peak_rss_mib']:.0f} MiB"
            for name, use in cpu["stages"].items()
        )
        lines.append(
            f"worker CPU {cpu['non_api_cpu_seconds']} s"
            f" ({cpu['cpu_seconds_per_10k_entries']} s per 10k entries);"
            f" per stage (CPU / peak RSS): {stages}"
        )
    if loop:
        bound = "< " if loop["below_threshold"] else ""
        where = f" in {loop['activity'] or loop.get('callback', '')}" if loop.get("stage") else ""
        where += f" at {loop['where']}" if loop.get("where") else ""
        where += f" ({loop['stage']} stage)" if loop.get("stage") else ""
        lines.append(
            f"longest event-loop block {bound}{loop['max_block_ms']} ms{where}"
            f" (the loop thread computed {loop.get('loop_cpu_ms', 0)} ms of it, garbage"
            f" collection {loop.get('gc_ms', 0)} ms; longest collection"
            f" {loop.get('longest_gc_pause_ms', 0)} ms)"
        )
    return lines
