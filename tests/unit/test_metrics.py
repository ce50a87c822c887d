"""``PipelineMetrics`` against a buffering Temporal runtime: what each call records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig

from volt_agent.config import MetricsSettings
from volt_agent.errors import ConfigError
from volt_agent.metrics import (
    WARNING_KINDS,
    PipelineMetrics,
    llm_tokens,
    metrics_runtime,
    warning_kind,
)
from volt_agent.pipeline import workflow
from volt_agent.pipeline.devserver import free_ports
from volt_agent.pipeline.types import RunRef, RunStatusUpdate
from volt_agent.sources.http import RequestStats
from volt_agent.storage.run_metadata import apply_update

Key = tuple[str, frozenset[tuple[str, object]]]


@pytest.fixture
def recorded() -> tuple[PipelineMetrics, MetricBuffer]:
    buffer = MetricBuffer(10_000)
    runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
    return PipelineMetrics(runtime.metric_meter), buffer


def labels(attributes: Mapping[str, object]) -> frozenset[tuple[str, object]]:
    return frozenset((k, v) for k, v in attributes.items() if k != "service_name")


def totals(buffer: MetricBuffer) -> Counter[Key]:
    """Counter updates are deltas: sum them per metric and attributes."""
    sums: Counter[Key] = Counter()
    for update in buffer.retrieve_updates():
        sums[(update.metric.name, labels(update.attributes))] += update.value
    return sums


def test_request_stats_are_synced_as_deltas(recorded: tuple[PipelineMetrics, MetricBuffer]) -> None:
    metrics, buffer = recorded
    stats = RequestStats(total=5, rate_limited=2, quota_exceeded=1, retries=3)
    metrics.sync_requests("toggl", stats)
    metrics.sync_requests("toggl", stats)  # nothing new: nothing added
    stats.total, stats.rate_limited = 9, 4
    metrics.sync_requests("toggl", stats)
    metrics.sync_requests("fibery", RequestStats(total=5))
    metrics.sync_requests("fibery", RequestStats(total=2))  # a new client restarted at zero
    sums = totals(buffer)
    toggl = frozenset({("source", "toggl")})
    assert sums[("volt_agent_api_requests_total", toggl)] == 9
    assert sums[("volt_agent_api_rate_limited_total", toggl)] == 4
    assert sums[("volt_agent_api_quota_exceeded_total", toggl)] == 1
    assert sums[("volt_agent_api_retries_total", toggl)] == 3
    assert sums[("volt_agent_api_requests_total", frozenset({("source", "fibery")}))] == 7


def update(status: str, **kwargs: object) -> RunStatusUpdate:
    return RunStatusUpdate(
        run=RunRef(output_dir=Path("runs"), run_id="r"),
        workflow_id="toggl-fibery-r",
        status=status,  # type: ignore[arg-type]
        temporal={"started_at": datetime(2026, 11, 23, 7, tzinfo=UTC).isoformat()},
        at=datetime(2026, 11, 23, 7, 2, tzinfo=UTC).isoformat(),
        **kwargs,  # type: ignore[arg-type]
    )


def test_run_outcome_duration_silent_failures_and_tokens(
    recorded: tuple[PipelineMetrics, MetricBuffer],
) -> None:
    metrics, buffer = recorded
    start = update("in_progress", starting=True)
    meta = apply_update(None, start)
    metrics.run_recorded(start, meta)
    end = update(
        "completed",
        warnings=[
            "zero_matched: nothing matched",
            "llm_fallback: section replaced",
            "llm_fallback: another section replaced",
            "enrichment_batch_failed: Scrum/Task batch 3: timed out",
            "made_up_kind: free text must not become a label value",
        ],
        statistics={"llm": {"calls": 2, "prompt_tokens": 1200, "completion_tokens": 300}},
    )
    metrics.run_recorded(end, apply_update(meta, end))
    updates = buffer.retrieve_updates()
    durations = [u.value for u in updates if u.metric.name == "volt_agent_run_duration_seconds"]
    assert durations == [120.0]
    sums: Counter[Key] = Counter()
    for item in updates:
        if item.metric.name != "volt_agent_run_duration_seconds":
            sums[(item.metric.name, labels(item.attributes))] += item.value
    assert sums[("volt_agent_runs_started_total", frozenset())] == 1
    assert sums[("volt_agent_runs_finished_total", frozenset({("outcome", "completed")}))] == 1
    assert sums[("volt_agent_silent_failures_total", frozenset({("kind", "zero_matched")}))] == 1
    assert ("volt_agent_silent_failures_total", frozenset({("kind", "llm_fallback")})) not in sums
    assert sums[("volt_agent_llm_tokens_total", frozenset({("kind", "prompt")}))] == 1200
    warned = {
        dict(key)["kind"]: value
        for (name, key), value in sums.items()
        if name == "volt_agent_run_warnings_total"
    }
    assert warned == {
        "zero_matched": 1,
        "llm_fallback": 1,
        "enrichment_batch_failed": 1,
        "other": 1,
    }
    assert sums[("volt_agent_llm_tokens_total", frozenset({("kind", "completion")}))] == 300


def test_entities_enriched_by_type_and_status(
    recorded: tuple[PipelineMetrics, MetricBuffer],
) -> None:
    metrics, buffer = recorded
    metrics.entities_enriched("Scrum/Task", {"found": 3, "not_found": 1, "error": 0})
    metrics.entries_fetched(0)
    metrics.entries_fetched(7)
    sums = totals(buffer)
    task = {("type", "Scrum/Task")}
    assert (
        sums[("volt_agent_entities_enriched_total", frozenset({*task, ("status", "found")}))] == 3
    )
    not_found = frozenset({*task, ("status", "not_found")})
    assert sums[("volt_agent_entities_enriched_total", not_found)] == 1
    assert (
        "volt_agent_entities_enriched_total",
        frozenset({*task, ("status", "error")}),
    ) not in sums
    assert sums[("volt_agent_entries_fetched_total", frozenset())] == 7


@pytest.mark.parametrize(
    ("warning", "kind"),
    [("zero_entries: x", "zero_entries"), ("Nothing: x", "other"), ("no colon", "other")],
)
def test_warning_kind(warning: str, kind: str) -> None:
    assert warning_kind(warning) == kind


def test_llm_tokens_tolerates_missing_or_odd_statistics() -> None:
    assert llm_tokens({}) == {}
    assert llm_tokens({"llm": "x"}) == {}
    assert llm_tokens({"llm": {"prompt_tokens": True, "completion_tokens": -1}}) == {}


def test_busy_metrics_port_is_one_line() -> None:
    (port,) = free_ports(1)
    first = metrics_runtime(MetricsSettings(host="127.0.0.1", port=port))
    with pytest.raises(ConfigError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
        metrics_runtime(MetricsSettings(host="127.0.0.1", port=port))
    assert first.metric_meter is not None  # the first one keeps the port until here


def test_every_warning_kind_the_workflow_records_has_its_own_label() -> None:
    recorded = {
        workflow.ZERO_ENTRIES,
        workflow.ZERO_MATCHED,
        workflow.RUNNING_TIMERS,
        workflow.NOT_ADMIN,
        workflow.BATCH_FAILED,
        workflow.DELIVERY_FAILED,
        workflow.LLM_FALLBACK,
    }
    assert recorded == WARNING_KINDS
