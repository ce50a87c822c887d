"""Measurements of one benchmark run: peak RSS from ``/proc``, facts from the workflow history.

Peak RSS is the kernel's high-water mark ``VmHWM`` of ``/proc/<pid>/status``, polled every
``interval`` seconds while the process lives (no ``resource``/``psutil``): the last reading
before the process exits is its peak up to then, so at most the final ``interval`` can be
missed. Stage times come from the event timestamps of the workflow history, i.e. from the
Temporal server's clock, not from progress polling.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

KIB = 1024
MIB = 1024 * KIB


def vm_hwm_bytes(pid: int) -> int | None:
    """``VmHWM`` (peak resident set size) of a live process, or ``None`` once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmHWM:"):
            value, unit = line.split()[1:3]
            return int(value) * (KIB if unit.lower() == "kb" else 1)
    return None


class PeakRss:
    """Polls ``VmHWM`` of some processes in a daemon thread; ``peak(pid)`` is the highest seen."""

    def __init__(self, interval: float = 0.1) -> None:
        self._interval = interval
        self._pids: set[int] = set()
        self._peaks: dict[int, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)

    def watch(self, pid: int) -> None:
        with self._lock:
            self._pids.add(pid)
        self.sample(pid)

    def sample(self, pid: int) -> None:
        value = vm_hwm_bytes(pid)
        if value is not None:
            with self._lock:
                self._peaks[pid] = max(self._peaks.get(pid, 0), value)

    def peak(self, pid: int) -> int:
        self.sample(pid)
        with self._lock:
            return self._peaks.get(pid, 0)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                pids = list(self._pids)
            for pid in pids:
                self.sample(pid)


STAGE_ACTIVITIES: dict[str, tuple[str, ...]] = {
    "toggl_fetch": ("fetch_toggl_data",),
    "toggl_report": ("generate_toggl_report",),
    "fibery_enrich": (
        "enrich_scrum_task",
        "enrich_scrum_bug",
        "enrich_product_feature",
        "default_enrich_entity",
    ),
    "person_reports": ("generate_person_reports",),
    "team_report": ("generate_team_report",),
}
"""Remote activities per reported stage; a stage spans its first schedule to its last close."""

REPORT_STAGES = ("toggl_report", "person_reports", "team_report")


@dataclass
class HistoryFacts:
    """What the workflow history says about a run."""

    events: int
    largest_event_bytes: int
    largest_event_type: str
    workflow_seconds: float
    stages: dict[str, float] = field(default_factory=dict)
    """Seconds per stage of ``STAGE_ACTIVITIES`` plus ``toggl_stage``/``fibery_stage`` (from the
    workflow start to the Toggl report's end, and from there to the workflow's close) and
    ``local_and_orchestration`` (everything not inside a remote activity span)."""
    activity_attempts: dict[str, int] = field(default_factory=dict)
    """Activity executions per activity type (a retried activity counts once per attempt)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "largest_event_bytes": self.largest_event_bytes,
            "largest_event_type": self.largest_event_type,
            "workflow_seconds": round(self.workflow_seconds, 2),
            "stages": {k: round(v, 2) for k, v in self.stages.items()},
            "activity_attempts": dict(sorted(self.activity_attempts.items())),
        }


def _time(event: HistoryEvent) -> datetime:
    moment: datetime = event.event_time.ToDatetime()
    return moment


_CLOSED_ACTIVITY = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}


def history_facts(events: Sequence[HistoryEvent]) -> HistoryFacts:
    """Event count, largest event and stage times of a closed workflow's history."""
    largest = max(events, key=lambda e: e.ByteSize())
    start, end = _time(events[0]), _time(events[-1])
    scheduled: dict[int, tuple[str, datetime]] = {}
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    attempts: dict[str, int] = {}
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[event.event_id] = (name, _time(event))
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            attrs = event.activity_task_started_event_attributes
            name = scheduled[attrs.scheduled_event_id][0]
            attempts[name] = attempts.get(name, 0) + max(1, attrs.attempt)
        elif (attr := _CLOSED_ACTIVITY.get(event.event_type)) is not None:
            scheduled_id = getattr(event, attr).scheduled_event_id
            name, at = scheduled[scheduled_id]
            spans.setdefault(name, []).append((at, _time(event)))
    stages: dict[str, float] = {}
    covered = 0.0
    for stage, names in STAGE_ACTIVITIES.items():
        intervals = [span for name in names for span in spans.get(name, [])]
        if not intervals:
            continue
        first = min(s for s, _ in intervals)
        last = max(e for _, e in intervals)
        stages[stage] = (last - first).total_seconds()
        covered += stages[stage]
    toggl_end = max((e for _, e in spans.get("generate_toggl_report", [])), default=None)
    if toggl_end is not None:
        stages["toggl_stage"] = (toggl_end - start).total_seconds()
        stages["fibery_stage"] = (end - toggl_end).total_seconds()
    workflow_seconds = (end - start).total_seconds()
    stages["local_and_orchestration"] = max(0.0, workflow_seconds - covered)
    return HistoryFacts(
        events=len(events),
        largest_event_bytes=largest.ByteSize(),
        largest_event_type=EventType.Name(largest.event_type).removeprefix("EVENT_TYPE_"),
        workflow_seconds=workflow_seconds,
        stages=stages,
        activity_attempts=attempts,
    )
