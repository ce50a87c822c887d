"""Prometheus metrics of the worker: the Temporal SDK's own plus the pipeline's.

Both go through one Temporal ``Runtime`` whose Prometheus exporter serves
``http://{metrics.host}:{metrics.port}/metrics``: the SDK's metrics (``temporal_*``: pollers,
task slots, schedule-to-start latencies, failures) and the ``volt_agent_*`` series below,
recorded from activities through :class:`PipelineMetrics`. Clients connected without that
runtime get a no-op meter, so tests and ``volt-agent run`` record nothing and bind no port.

Pipeline series (counters end in ``_total``):

    volt_agent_runs_started_total                       executions that recorded their start
    volt_agent_runs_finished_total{outcome}             completed | failed | cancelled
    volt_agent_run_duration_seconds{outcome}            histogram, start of the execution to end
    volt_agent_silent_failures_total{kind}              zero_entries | zero_matched (warnings)
    volt_agent_run_warnings_total{kind}                 runs with a warning of each kind
                                                        (WARNING_KINDS, else ``other``)
    volt_agent_entries_fetched_total                    Toggl time entries stored
    volt_agent_entities_enriched_total{type,status}     found | not_found | error per Fibery type
    volt_agent_api_requests_total{source}               HTTP attempts, retries included
    volt_agent_api_rate_limited_total{source}           429 answers
    volt_agent_api_quota_exceeded_total{source}         quota 402s (not feature-gate 402s)
    volt_agent_api_retries_total{source}                client-side retries
    volt_agent_llm_tokens_total{kind}                   prompt | completion, from run statistics
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from temporalio.client import Client
from temporalio.common import MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from volt_agent.config import MetricsSettings
from volt_agent.errors import ConfigError
from volt_agent.pipeline.types import RunStatusUpdate
from volt_agent.sources.http import RequestStats
from volt_agent.storage.run_metadata import TERMINAL_STATUSES, RunMetadata

RUN_DURATION = "volt_agent_run_duration_seconds"
RUN_DURATION_BUCKETS = [10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0]
_WARNING_KIND = re.compile(r"^([a-z][a-z0-9_]{0,39}):")
LLM_TOKEN_KINDS = ("prompt", "completion")
SILENT_FAILURE_KINDS = frozenset({"zero_entries", "zero_matched"})
"""Warning kinds the workflow records for runs that succeeded at doing nothing."""
WARNING_KINDS = frozenset(
    {
        *SILENT_FAILURE_KINDS,
        "toggl_running_timers",
        "toggl_not_admin",
        "enrichment_batch_failed",
        "delivery_failed",
        "llm_fallback",
    }
)
"""The kinds ``volt_agent_run_warnings_total`` names; any other warning counts as ``other``,
so the label's values stay few whatever a message says."""


def metrics_runtime(settings: MetricsSettings) -> Runtime:
    """A Temporal runtime exporting Prometheus metrics on ``host:port``; binds the port now.

    Raises ``ConfigError`` when the port cannot be bound (in use, bad host).
    """
    address = f"{settings.host}:{settings.port}"
    try:
        return Runtime(
            telemetry=TelemetryConfig(
                metrics=PrometheusConfig(
                    bind_address=address,
                    histogram_bucket_overrides={RUN_DURATION: RUN_DURATION_BUCKETS},
                )
            )
        )
    except ValueError as exc:
        reason = str(exc).removeprefix("Failed starting Prometheus exporter: ")
        raise ConfigError(
            f"cannot serve metrics on {address}: {reason} — change metrics.port"
            " (VOLT_AGENT_METRICS_PORT) or set metrics.enabled: false"
        ) from exc


def meter_of(client: Client) -> MetricMeter:
    """The metric meter of the runtime ``client`` was connected with (no-op without metrics)."""
    runtime = client.service_client.config.runtime or Runtime.default()
    return runtime.metric_meter


def warning_kind(warning: str) -> str:
    """``"zero_entries: …"`` → ``zero_entries``; warnings without such a prefix → ``other``."""
    found = _WARNING_KIND.match(warning)
    return found.group(1) if found else "other"


def llm_tokens(statistics: Mapping[str, Any]) -> dict[str, int]:
    """Prompt/completion tokens of a run from ``statistics["llm"]`` (``prompt_tokens``,
    ``completion_tokens``), as the LLM writer sums them; empty when the run used none."""
    llm = statistics.get("llm")
    if not isinstance(llm, Mapping):
        return {}
    tokens = {}
    for kind in LLM_TOKEN_KINDS:
        value = llm.get(f"{kind}_tokens")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            tokens[kind] = value
    return tokens


class PipelineMetrics:
    """The pipeline's instruments on one meter. Cheap; safe to call from any activity."""

    def __init__(self, meter: MetricMeter | None = None) -> None:
        meter = meter or MetricMeter.noop
        counter = meter.create_counter
        self._runs_started = counter("volt_agent_runs_started_total", "Run executions started")
        self._runs_finished = counter(
            "volt_agent_runs_finished_total", "Run executions finished, by outcome"
        )
        self._duration = meter.create_histogram_float(
            RUN_DURATION, "Run execution duration, from its start to its end", "s"
        )
        self._silent = counter(
            "volt_agent_silent_failures_total",
            "Runs that fetched zero entries or matched zero entities, by kind",
        )
        self._warnings = counter(
            "volt_agent_run_warnings_total", "Finished runs with a warning, by warning kind"
        )
        self._entries = counter("volt_agent_entries_fetched_total", "Toggl time entries fetched")
        self._entities = counter(
            "volt_agent_entities_enriched_total", "Fibery entities enriched, by type and status"
        )
        self._api = {
            "total": counter("volt_agent_api_requests_total", "HTTP requests sent, by source"),
            "rate_limited": counter(
                "volt_agent_api_rate_limited_total", "HTTP 429 answers, by source"
            ),
            "quota_exceeded": counter(
                "volt_agent_api_quota_exceeded_total", "HTTP 402 quota answers, by source"
            ),
            "retries": counter("volt_agent_api_retries_total", "Client-side retries, by source"),
        }
        self._llm_tokens = counter("volt_agent_llm_tokens_total", "LLM tokens used, by kind")
        self._synced: dict[str, dict[str, int]] = {}

    @classmethod
    def for_client(cls, client: Client) -> PipelineMetrics:
        return cls(meter_of(client))

    def entries_fetched(self, count: int) -> None:
        if count > 0:
            self._entries.add(count)

    def entities_enriched(self, type_key: str, counts: Mapping[str, int]) -> None:
        for status, count in counts.items():
            if count > 0:
                self._entities.add(count, {"type": type_key, "status": status})

    def sync_requests(self, source: str, stats: RequestStats) -> None:
        """Add what ``stats`` (a client's cumulative counters) grew by since the last call.

        Deltas, not per-activity differences, so concurrent activities sharing one client
        never count a request twice.
        """
        now = {key: int(getattr(stats, key)) for key in self._api}
        last = self._synced.get(source, {})
        if any(now[key] < last.get(key, 0) for key in now):
            last = {}  # a new client: its counters started again from zero
        for key, value in now.items():
            grown = value - last.get(key, 0)
            if grown > 0:
                self._api[key].add(grown, {"source": source})
        self._synced[source] = now

    def run_recorded(self, update: RunStatusUpdate, meta: RunMetadata) -> None:
        """Count a start, or an end with its outcome, duration, warnings and LLM tokens."""
        if update.starting:
            self._runs_started.add(1)
        if update.status not in TERMINAL_STATUSES:
            return
        outcome = {"outcome": update.status}
        self._runs_finished.add(1, outcome)
        started = update.temporal.get("started_at")
        if started:
            seconds = _seconds_between(started, update.at)
            self._duration.record(max(seconds, 0.0), outcome)
        kinds = {warning_kind(w) for w in meta.warnings}
        for kind in kinds & SILENT_FAILURE_KINDS:
            self._silent.add(1, {"kind": kind})
        for kind in {k if k in WARNING_KINDS else "other" for k in kinds}:
            self._warnings.add(1, {"kind": kind})
        for kind, count in llm_tokens(meta.statistics).items():
            self._llm_tokens.add(count, {"kind": kind})


def _seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
