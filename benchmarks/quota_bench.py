"""Quota-bound months: the org workload under Toggl's hourly quota, compressed in time.

``python -m benchmarks.bench org-free`` (also ``org-starter``, ``org-premium``), or this
module for any base workload, quota and window:
``python -m benchmarks.quota_bench team --quota 5 --window 10``.

The Toggl simulator enforces the plan's quota (Free 30, Starter 240, Premium 600 workspace
requests) per window of ``3600 / COMPRESSION`` seconds, counted the documented way ("the
count begins when the initial request is made … after 60 minutes, the count resets":
``quota_window="fixed"``), on top of the 1 request/s rate limit. Checks (exit 1 on a miss):
the run completes unattended; no quota refusal beyond the first of each window
(``quota_count.extra_402s``, from the simulator's request log); wall time within 1.1 x the
time the limits need: windows needed x window length for the Toggl stage (or its rate-limit
floor when that is longer: then the rate, not the quota, paces it), plus the Fibery stage's
rate-limit floor, which only starts after the last window.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.bench import (
    BURST,
    LATENCY_SECONDS,
    RESULTS_DIR,
    SEED,
    WORKLOADS,
    Workload,
    fetch_history,
    log,
    process_env,
    run_cli,
    run_metadata,
    simulator_options,
    worker_process,
    write_config,
)
from benchmarks.measure import PeakRss
from benchmarks.original_strategy import FIBERY_RATE, TOGGL_RATE
from benchmarks.quota_count import (
    QuotaWindow,
    extra_402s,
    quota_binds,
    quota_floor,
    quota_windows,
    windows_needed,
)
from benchmarks.report import Target, target_line, write_json
from benchmarks.variant import RunFacts, base_result, logged_simulators, use_llm_server
from volt_agent.pipeline.devserver import DevServer
from volt_agent.sandbox import generate_workspace
from volt_agent.sandbox.fake_llm import FakeLlm

PLAN_QUOTAS = {"free": 30, "starter": 240, "premium": 600}
"""Workspace requests per hour of Toggl's plans (docs/API_NOTES.md)."""
USER_QUOTA = 30
"""``/me`` requests per hour on every plan."""
COMPRESSION = 60
"""An hour of quota becomes a minute. The quota paces a run only while a window's quota takes
less time to send at 1 request/s than the window lasts (``quota_binds``): at 60x the Free
plan's 30 requests take 30 s of a 60 s window, so Free is quota-bound (the org month, about
335 Toggl requests, needs 12 windows: 12 minutes). Starter's 240 and Premium's 600 would need
4 and 10 minutes of requests per 1-minute window: at this factor the rate binds and those runs
show that the quota bookkeeping costs nothing when it never runs out. A factor that makes
Starter bind (< 15) stretches the Free run past an hour; ``python -m benchmarks.quota_bench
org --quota 240 --window 300`` runs Starter at 12x."""
WALL_LIMIT = 1.1
EMPTY_HISTORY: dict[str, Any] = {
    "stages": {},
    "workflow_seconds": None,
    "events": 0,
    "largest_event_bytes": 0,
    "largest_event_type": "",
}
"""The history facts of a run that failed (its summary is the run log)."""
SCRATCH_RESULTS = RESULTS_DIR.parents[1] / "tmp" / "bench-results"
"""Where ad-hoc runs of this module go: not into docs/BENCHMARKS.md's tables."""


@dataclass(frozen=True)
class QuotaWorkload:
    name: str
    base: Workload
    quota: int
    window_seconds: float


QUOTA_WORKLOADS = {
    f"org-{plan}": QuotaWorkload(f"org-{plan}", WORKLOADS["org"], quota, 3600 / COMPRESSION)
    for plan, quota in PLAN_QUOTAS.items()
}


def quota_summary(windows: list[QuotaWindow], quota: int, window: float) -> dict[str, Any]:
    """The quota facts of one run from its reconstructed windows."""
    admitted = sum(w.admitted for w in windows)
    return {
        "quota": quota,
        "window_seconds": window,
        "quota_window": "fixed",
        "workspace_requests": admitted,
        "refused_402": sum(w.refused for w in windows),
        "extra_402": extra_402s(windows),
        "windows_used": len(windows),
        "windows_needed": windows_needed(admitted, quota) if admitted else 0,
        "admitted_per_window": [w.admitted for w in windows],
        "refused_per_window": [w.refused for w in windows],
        "quota_floor_seconds": quota_floor(admitted, quota, window) if admitted else 0.0,
        "quota_binds": quota_binds(quota, window, TOGGL_RATE),
    }


def quota_targets(result: dict[str, Any]) -> list[Target]:
    pipeline, quota = result["pipeline"], result["quota"]
    floor = result["floor"]
    expected = max(quota["quota_floor_seconds"], floor["toggl_seconds"]) + floor["fibery_seconds"]
    return [
        Target("run completed unattended (1 = yes)", float(pipeline["completed"]), 1, ">="),
        Target("quota 402s beyond the first of a window", quota["extra_402"], 0, "<="),
        Target(
            "wall <= 1.1 x (max(windows x window, Toggl floor) + Fibery floor) (s)",
            pipeline["wall_seconds"],
            round(WALL_LIMIT * expected, 1),
            "<=",
        ),
    ]


def bench_quota(workload: QuotaWorkload, server: DevServer, use_fake_llm: bool) -> dict[str, Any]:
    base = workload.base
    log(f"{workload.name}: generating {base.users} users x {base.days} days")
    workspace = generate_workspace(base.spec)
    toggl_options, fibery_options = simulator_options()
    toggl_options = replace(
        toggl_options,
        hourly_quota=workload.quota,
        me_hourly_quota=USER_QUOTA,
        quota_window="fixed",
        quota_window_seconds=workload.window_seconds,
    )
    fake = FakeLlm() if use_fake_llm else None
    run_id = f"bench-{workload.name}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    with (
        tempfile.TemporaryDirectory(prefix=f"volt-bench-{workload.name}-") as tmp,
        logged_simulators(workspace, toggl_options, fibery_options) as (sims, request_log),
        fake.serve() if fake is not None else contextlib.nullcontext() as llm_url,
        PeakRss() as rss,
    ):
        folder = Path(tmp)
        config = write_config(folder, sims, server, f"bench-{uuid.uuid4()}")
        use_llm_server(config, llm_url)
        env = process_env(sims, folder, llm_url)
        with worker_process(config, env, folder, rss) as worker:
            # the worker's start sent nothing to Toggl; a fresh window opens with the run
            time.sleep(1.5)
            sims.toggl.reset_stats()
            sims.fibery.reset_stats()
            request_log.clear()
            log(
                f"{workload.name}: run {run_id}, quota {workload.quota} per"
                f" {workload.window_seconds:g} s"
            )
            code, wall, cli_rss = run_cli(
                config, env, folder, workload=base, run_id=run_id, rss=rss
            )
            worker_rss = rss.peak(worker.pid)
        events = request_log.events()
        toggl_stats, fibery_stats = sims.toggl.stats(), sims.fibery.stats()
        history = asyncio.run(fetch_history(server.address, run_id)) if code == 0 else {}
        meta = run_metadata(folder, run_id) if code == 0 else {}
        if code != 0:
            log(f"{workload.name}: the run failed (exit {code}):")
            print((folder / "run.log").read_text(errors="replace")[-2000:], flush=True)
        llm_calls = len(fake.received()) if fake is not None else 0
    facts = RunFacts(
        name=workload.name,
        users=base.users,
        days=base.days,
        seed=SEED,
        run_ids=[run_id],
        wall=wall,
        toggl_stats=toggl_stats,
        fibery_stats=fibery_stats,
        history=history or EMPTY_HISTORY,
        statistics=meta.get("statistics", {}),
        llm_calls=llm_calls,
        worker_rss=worker_rss,
        cli_rss=cli_rss,
    )
    result = base_result(facts, simulator_facts(workload))
    result["pipeline"]["completed"] = code == 0 and meta.get("status") == "completed"
    result["quota"] = quota_summary(
        quota_windows(events, workload.window_seconds), workload.quota, workload.window_seconds
    )
    result["targets"] = [t.as_dict() for t in quota_targets(result)]
    return result


def simulator_facts(workload: QuotaWorkload) -> dict[str, Any]:
    return {
        "latency_seconds": list(LATENCY_SECONDS),
        "toggl_requests_per_second": TOGGL_RATE,
        "fibery_requests_per_second": FIBERY_RATE,
        "burst": BURST,
        "toggl_quota": workload.quota,
        "toggl_quota_window_seconds": workload.window_seconds,
    }


def quota_summary_lines(result: dict[str, Any]) -> list[str]:
    pipeline, quota, floor = result["pipeline"], result["quota"], result["floor"]
    lines = [
        f"== {result['workload']}: {pipeline['entries']} entries; quota {quota['quota']} per"
        f" {quota['window_seconds']:g} s window ({'quota' if quota['quota_binds'] else 'rate'}"
        " binds)",
        f"   wall {pipeline['wall_seconds']} s; workspace requests {quota['workspace_requests']}"
        f" in {quota['windows_used']} windows (needed {quota['windows_needed']}:"
        f" {quota['quota_floor_seconds']:g} s); rate floor {floor['seconds']} s",
        f"   402s {quota['refused_402']} (extra {quota['extra_402']}); admitted per window"
        f" {quota['admitted_per_window']}; 429s {pipeline['rate_limited']}",
    ]
    return lines + [f"   {target_line(t)}" for t in result["targets"]]


def run_quota_workloads(
    workloads: list[QuotaWorkload], server: DevServer, *, use_fake_llm: bool, results_dir: Path
) -> bool:
    """Run each, write ``{name}.json``, print the summary; whether every target passed."""
    passed = True
    for workload in workloads:
        result = bench_quota(workload, server, use_fake_llm)
        write_json(results_dir / f"{workload.name}.json", result)
        for line in quota_summary_lines(result):
            print(line, flush=True)
        passed &= all(t["passed"] for t in result["targets"])
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quota_bench", description=__doc__)
    parser.add_argument("workload", choices=WORKLOADS, help="base workload")
    parser.add_argument("--quota", type=int, default=PLAN_QUOTAS["free"])
    parser.add_argument("--window", type=float, default=3600 / COMPRESSION, help="seconds")
    parser.add_argument("--llm", choices=("fake", "template"), default="fake")
    parser.add_argument("--results-dir", type=Path, default=SCRATCH_RESULTS)
    args = parser.parse_args(argv)
    name = f"{args.workload}-quota{args.quota}-{args.window:g}s"
    workload = QuotaWorkload(name, WORKLOADS[args.workload], args.quota, args.window)
    with DevServer() as server:
        ok = run_quota_workloads(
            [workload], server, use_fake_llm=args.llm == "fake", results_dir=args.results_dir
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
