"""The benchmark's CPU and RSS per stage: history windows and the attribution of samples."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from benchmarks.resources import (
    OTHER,
    Sample,
    Window,
    activity_spans,
    attribute,
    cpu_report,
    cpu_seconds,
    loop_facts,
    rss_bytes,
    stage_windows,
)
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

MIB = 1024 * 1024
T0 = 1_800_000_000.0


def event(event_id: int, at: float, kind: str, **attrs: object) -> HistoryEvent:
    e = HistoryEvent(event_id=event_id, event_type=EventType.Value(f"EVENT_TYPE_{kind}"))
    e.event_time.FromMicroseconds(round((T0 + at) * 1_000_000))
    if kind == "ACTIVITY_TASK_SCHEDULED":
        e.activity_task_scheduled_event_attributes.activity_type.name = str(attrs["name"])
    elif kind == "ACTIVITY_TASK_COMPLETED":
        e.activity_task_completed_event_attributes.scheduled_event_id = int(str(attrs["of"]))
    elif kind == "ACTIVITY_TASK_FAILED":
        e.activity_task_failed_event_attributes.scheduled_event_id = int(str(attrs["of"]))
    return e


def history() -> list[HistoryEvent]:
    """Start 0; fetch 1-4 (a failed attempt then a retry); Toggl report 5-6; two enrichment
    batches 7-9; person reports 9-10; team report 11-12; end 13."""
    return [
        event(1, 0.0, "WORKFLOW_EXECUTION_STARTED"),
        event(2, 1.0, "ACTIVITY_TASK_SCHEDULED", name="fetch_toggl_data"),
        event(3, 2.0, "ACTIVITY_TASK_FAILED", of=2),
        event(4, 2.5, "ACTIVITY_TASK_SCHEDULED", name="fetch_toggl_data"),
        event(5, 4.0, "ACTIVITY_TASK_COMPLETED", of=4),
        event(6, 5.0, "ACTIVITY_TASK_SCHEDULED", name="generate_toggl_report"),
        event(7, 6.0, "ACTIVITY_TASK_COMPLETED", of=6),
        event(8, 7.0, "ACTIVITY_TASK_SCHEDULED", name="enrich_scrum_task"),
        event(9, 7.0, "ACTIVITY_TASK_SCHEDULED", name="default_enrich_entity"),
        event(10, 8.0, "ACTIVITY_TASK_COMPLETED", of=8),
        event(11, 9.0, "ACTIVITY_TASK_COMPLETED", of=9),
        event(12, 9.5, "ACTIVITY_TASK_SCHEDULED", name="generate_person_reports"),
        event(13, 10.0, "ACTIVITY_TASK_COMPLETED", of=12),
        event(14, 11.0, "ACTIVITY_TASK_SCHEDULED", name="generate_team_report"),
        event(15, 12.0, "ACTIVITY_TASK_COMPLETED", of=14),
        event(16, 13.0, "WORKFLOW_EXECUTION_COMPLETED"),
    ]


def test_windows_follow_each_other_from_the_fetch_to_the_team_report() -> None:
    spans = activity_spans(history())
    assert spans["fetch_toggl_data"] == [(T0 + 1.0, T0 + 2.0), (T0 + 2.5, T0 + 4.0)]
    windows = stage_windows(spans, T0, T0 + 13.0)
    assert [(w.stage, w.start - T0, w.end - T0) for w in windows] == [
        ("fetch", 1.0, 4.0),
        ("aggregate_toggl_report", 4.0, 6.0),
        ("enrich", 6.0, 9.0),
        ("person_reports", 9.0, 10.0),
        ("team_report", 10.0, 12.0),
    ]


def test_a_stage_that_did_not_run_has_no_window_and_the_next_starts_where_the_last_ended() -> None:
    spans = {"fetch_toggl_data": [(1.0, 4.0)], "generate_person_reports": [(5.0, 7.0)]}
    assert stage_windows(spans, 0.0, 10.0) == [
        Window("fetch", 1.0, 4.0),
        Window("person_reports", 4.0, 7.0),
    ]


def test_cpu_between_two_samples_is_split_over_the_windows_in_proportion_to_time() -> None:
    windows = [Window("fetch", 1.0, 2.0), Window("enrich", 2.0, 3.0)]
    samples = [
        Sample(0.5, 10.0, 100 * MIB),
        Sample(1.5, 10.5, 120 * MIB),  # 0.5 s CPU: half before the fetch, half in it
        Sample(2.5, 11.5, 300 * MIB),  # 1 s: half fetch, half enrich
        Sample(3.5, 11.7, 150 * MIB),  # 0.2 s: half enrich, half after (other)
    ]
    uses = attribute(samples, windows, start=0.0, end=4.0)
    assert uses["fetch"].cpu_seconds == pytest.approx(0.25 + 0.5)
    assert uses["enrich"].cpu_seconds == pytest.approx(0.5 + 0.1)
    assert uses[OTHER].cpu_seconds == pytest.approx(0.25 + 0.1)
    assert sum(u.cpu_seconds for u in uses.values()) == pytest.approx(1.7)
    assert uses["fetch"].peak_rss_bytes == 300 * MIB
    assert uses["enrich"].peak_rss_bytes == 300 * MIB
    assert uses["fetch"].seconds == pytest.approx(1.0)


def test_only_cpu_inside_the_workflow_counts() -> None:
    samples = [Sample(0.0, 0.0, MIB), Sample(10.0, 10.0, MIB), Sample(20.0, 20.0, MIB)]
    uses = attribute(samples, [Window("fetch", 5.0, 12.0)], start=5.0, end=15.0)
    assert uses["fetch"].cpu_seconds == pytest.approx(7.0)
    assert uses[OTHER].cpu_seconds == pytest.approx(3.0)


def test_a_stage_shorter_than_the_sampling_interval_gets_its_share_and_the_pairs_peak() -> None:
    windows = [Window("aggregate_toggl_report", 1.04, 1.06)]
    samples = [Sample(1.0, 5.0, 100 * MIB), Sample(1.1, 5.1, 140 * MIB)]
    use = attribute(samples, windows, start=0.0, end=2.0)["aggregate_toggl_report"]
    assert use.cpu_seconds == pytest.approx(0.02)
    assert use.peak_rss_bytes == 140 * MIB


def test_the_report_gives_cpu_per_10k_entries_over_the_whole_workflow() -> None:
    samples = [Sample(T0 + t, t * 0.5, 200 * MIB) for t in range(15)]
    report = cpu_report(samples, history(), entries=2000).as_dict()
    assert report["non_api_cpu_seconds"] == pytest.approx(6.5)  # 13 s of workflow at 0.5
    assert report["cpu_seconds_per_10k_entries"] == pytest.approx(32.5)
    assert report["stages"]["fetch"]["cpu_seconds"] == pytest.approx(1.5)
    assert report["stages"][OTHER]["cpu_seconds"] == pytest.approx(1.0)  # 0-1 s and 12-13 s


def test_loop_facts_take_the_longest_stall_during_the_workflow(tmp_path: Path) -> None:
    probe = tmp_path / "loop_probe.json"
    stalls = [
        {"ended_at": T0 - 1.0, "seconds": 0.9, "where": "startup"},  # before the run
        {
            "ended_at": T0 + 5.0,
            "seconds": 0.12,
            "loop_cpu_seconds": 0.11,
            "activity": "aggregate_toggl_data",
            "where": "a.py:3 f",
        },
        {"ended_at": T0 + 6.0, "seconds": 0.05, "where": "b.py:9 g"},
    ]
    probe.write_text(
        json.dumps(
            {
                "stalls": stalls,
                "gc_pauses": [{"ended_at": T0 + 4.99, "seconds": 0.1, "generation": 2}],
                "record_over_ms": 20.0,
            }
        ),
        encoding="utf-8",
    )
    facts = loop_facts(probe, history())
    assert facts["max_block_ms"] == 120.0
    assert facts["loop_cpu_ms"] == 110.0
    assert facts["gc_ms"] == 100.0
    assert facts["longest_gc_pause_ms"] == 100.0
    assert facts["where"] == "a.py:3 f"
    assert facts["activity"] == "aggregate_toggl_data"
    assert facts["stage"] == "aggregate_toggl_report"  # 4.88-5.0 s: after the fetch's end
    assert facts["stalls_over_100ms"] == 1
    assert [s["ms"] for s in facts["longest"]] == [120.0, 50.0]


def test_with_no_stall_the_block_is_below_the_probe_threshold(tmp_path: Path) -> None:
    probe = tmp_path / "loop_probe.json"
    probe.write_text(json.dumps({"stalls": [], "record_over_ms": 20.0}), encoding="utf-8")
    facts = loop_facts(probe, history())
    assert facts["max_block_ms"] == 20.0
    assert facts["below_threshold"] is True


def test_proc_readings_of_this_process() -> None:
    used = cpu_seconds(os.getpid())
    assert used is not None
    assert used > 0
    rss = rss_bytes(os.getpid())
    assert rss is not None
    assert rss > MIB
    assert cpu_seconds(2**22 + 1) is None  # above pid_max's default: no such process
