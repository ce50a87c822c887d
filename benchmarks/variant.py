"""What the variant workloads (quota-bound runs, several workers) share: simulators whose
Toggl side keeps a request log, and the common part of their results files (the same keys
``benchmarks.report`` reads from the main workloads' files, without the original strategy)."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from benchmarks.measure import MIB
from benchmarks.original_strategy import FIBERY_RATE, TOGGL_RATE
from benchmarks.quota_count import QuotaLog
from volt_agent.sandbox import FiberySimulatorOptions, TogglSimulatorOptions
from volt_agent.sandbox.fibery_sim import create_fibery_app
from volt_agent.sandbox.server import ServedApp, SimulatorHandle, Simulators
from volt_agent.sandbox.toggl_sim import create_toggl_app
from volt_agent.sandbox.workspace import Workspace


@contextmanager
def logged_simulators(
    workspace: Workspace, toggl: TogglSimulatorOptions, fibery: FiberySimulatorOptions
) -> Iterator[tuple[Simulators, QuotaLog]]:
    """``run_simulators`` with every Toggl answer recorded in a ``QuotaLog``."""
    toggl_app = create_toggl_app(workspace, toggl)
    fibery_app = create_fibery_app(workspace, fibery)
    request_log = QuotaLog(toggl_app)
    with ExitStack() as stack:
        toggl_server = stack.enter_context(ServedApp(request_log))
        fibery_server = stack.enter_context(ServedApp(fibery_app))
        sims = Simulators(
            toggl=SimulatorHandle(toggl_server.base_url, toggl.token, toggl_app),
            fibery=SimulatorHandle(fibery_server.base_url, fibery.token, fibery_app),
            workspace=workspace,
        )
        yield sims, request_log


def use_llm_server(config: Path, llm_url: str | None) -> None:
    """With the fake LLM server, opt the config into sending report data to it
    (``llm.provider: openai``: the repository's config keeps the template writer)."""
    if llm_url is None:
        return
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data.setdefault("llm", {})["provider"] = "openai"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")


@dataclass(frozen=True)
class RunFacts:
    """Raw measurements of one variant run (or of several runs side by side)."""

    name: str
    users: int
    days: int
    seed: int
    run_ids: list[str]
    wall: float
    toggl_stats: dict[str, int]
    fibery_stats: dict[str, int]
    history: dict[str, Any]
    statistics: dict[str, Any]
    llm_calls: int
    worker_rss: int
    cli_rss: int
    workers: int = 1
    storage: str = "local"


def base_result(facts: RunFacts, simulators: dict[str, Any]) -> dict[str, Any]:
    """The keys every results file has (``benchmarks.report.table``); targets added later."""
    toggl, fibery = facts.toggl_stats, facts.fibery_stats
    toggl_admitted = toggl["requests"] - toggl["rate_limited"]
    fibery_admitted = fibery["requests"] - fibery["rate_limited"]
    floor = toggl_admitted / TOGGL_RATE + fibery_admitted / FIBERY_RATE
    return {
        "workload": facts.name,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "spec": {"users": facts.users, "days": facts.days, "seed": facts.seed},
        "workers": facts.workers,
        "storage": facts.storage,
        "simulators": simulators,
        "pipeline": {
            "run_ids": facts.run_ids,
            "wall_seconds": round(facts.wall, 1),
            "entries": facts.statistics.get("toggl", {}).get("entries", 0),
            "entities": facts.statistics.get("enrichment", {}).get("entities", 0),
            "toggl_requests": toggl["requests"],
            "fibery_requests": fibery["requests"],
            "rate_limited": toggl["rate_limited"] + fibery["rate_limited"],
            "quota_exceeded": toggl.get("quota_exceeded", 0),
            "toggl_by_endpoint": {k: v for k, v in toggl.items() if k.startswith("toggl.")},
            "fibery_by_endpoint": {k: v for k, v in fibery.items() if k.startswith("fibery.")},
            "llm": {"calls": facts.llm_calls},
            "worker_peak_rss_mib": round(facts.worker_rss / MIB, 1),
            "cli_peak_rss_mib": round(facts.cli_rss / MIB, 1),
            "history": facts.history,
            "statistics": facts.statistics,
        },
        "floor": {
            "seconds": round(floor, 1),
            "toggl_seconds": round(toggl_admitted / TOGGL_RATE, 1),
            "fibery_seconds": round(fibery_admitted / FIBERY_RATE, 1),
            "wall_ratio": round(facts.wall / floor, 3) if floor else 0.0,
        },
    }
