"""Memory of a long-lived worker: ``python -m benchmarks.soak`` (``make bench-soak``).

One ``volt-agent worker`` process serves ``--runs`` (20) sequential runs of the same
sandbox workspace, each started by ``volt-agent run --no-worker`` under its own run id.
After each run (the worker idle) the worker's ``VmRSS`` is read from ``/proc/<pid>/status``.
The check: the highest RSS after runs 11-20 exceeds the highest after runs 1-10 by less than
``--max-growth-mib`` (15). Highest of each half rather than the two single samples after
runs 10 and 20: between runs RSS saw-tooths by 10-20 MiB as the allocator hands arenas back,
so two single samples can differ by that much without any leak (both are reported too).

Why that bound: a worker that kept something per run — as the enrichment store cache keyed
by path did (review C3) — keeps each run's aggregate and entity index. The script measures
that size for this workspace (``per-run data``) and the workspace is chosen so that ten runs
of it are well above the bound, while allocator noise after the first runs (arenas, the
Temporal core's buffers, imports done lazily by the first run) stays below it: RSS climbs
over the first ~5 runs, then stays flat.

Results go to ``benchmarks/results/soak.json``; the command exits 1 when the check fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from benchmarks.bench import (
    RESULTS_DIR,
    log,
    process_env,
    run_argv,
    worker_process,
    write_config,
)
from benchmarks.measure import MIB, PeakRss
from benchmarks.report import write_json
from volt_agent.pipeline.devserver import DevServer
from volt_agent.pipeline.enrichment_store import EnrichmentStore
from volt_agent.sandbox import WorkspaceSpec, generate_workspace, run_simulators
from volt_agent.storage.run_folder import RunFolder

SPEC = WorkspaceSpec(users=50, days=7, seed=2026)
FAST = 50.0
"""Requests per second of both clients: the soak is about memory, not the APIs' limits."""


def vm_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def fast_config(path: Path) -> None:
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["toggl"]["requests_per_second"] = FAST
    config["fibery"]["requests_per_second"] = FAST
    path.write_text(yaml.safe_dump(config), encoding="utf-8")


def run_once(config: Path, env: dict[str, str], folder: Path, run_id: str) -> float:
    start = SPEC.start_date
    end = start.fromordinal(start.toordinal() + SPEC.days - 1)
    argv = run_argv(start, end, run_id, config)
    began = time.monotonic()
    done = subprocess.run(  # noqa: S603 - our own CLI, fixed argv
        argv, capture_output=True, text=True, env=env, cwd=folder, timeout=600, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"run {run_id} failed (exit {done.returncode}):\n{done.stdout[-3000:]}")
    return time.monotonic() - began


def per_run_data_bytes(folder: RunFolder) -> int:
    """What a per-run cache would keep of one run: its people and entity index."""
    tracemalloc.start()
    store = EnrichmentStore(folder)
    store.slices()
    store.index()
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del store
    return size


def soak(runs: int, max_growth_mib: float) -> dict[str, Any]:
    workspace = generate_workspace(SPEC)
    with (
        tempfile.TemporaryDirectory(prefix="volt-soak-") as tmp,
        DevServer() as server,
        run_simulators(workspace) as sims,
        PeakRss() as rss,
    ):
        folder = Path(tmp)
        config = write_config(folder, sims, server, f"soak-{uuid.uuid4()}")
        fast_config(config)
        env = process_env(sims, folder, llm_url=None)
        rss_after: list[int] = []
        walls: list[float] = []
        with worker_process(config, env, folder, rss) as worker:
            log(f"worker pid {worker.pid}, RSS {vm_rss_bytes(worker.pid) / MIB:.1f} MiB idle")
            for n in range(1, runs + 1):
                walls.append(run_once(config, env, folder, f"soak-{n:02d}"))
                time.sleep(0.5)
                rss_after.append(vm_rss_bytes(worker.pid))
                log(f"run {n:2d}: {walls[-1]:.1f} s, worker RSS {rss_after[-1] / MIB:.1f} MiB")
        per_run = per_run_data_bytes(RunFolder(folder / "runs", "soak-01"))
    half = runs // 2
    growth = (max(rss_after[half:]) - max(rss_after[:half])) / MIB
    raw_growth = (rss_after[-1] - rss_after[half - 1]) / MIB
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "workspace": {
            "users": SPEC.users,
            "days": SPEC.days,
            "entries": len(workspace.time_entries),
        },
        "runs": runs,
        "worker_rss_mib_after_run": [round(v / MIB, 1) for v in rss_after],
        "run_wall_seconds": [round(w, 1) for w in walls],
        "per_run_data_mib": round(per_run / MIB, 2),
        "growth_mib": {
            "highest_of_runs": f"{half + 1}-{runs} minus 1-{half}",
            "value": round(growth, 1),
            f"run_{half}_to_{runs}": round(raw_growth, 1),
        },
        "max_growth_mib": max_growth_mib,
        "passed": growth < max_growth_mib,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--max-growth-mib", type=float, default=15.0)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    result = soak(args.runs, args.max_growth_mib)
    write_json(args.results_dir / "soak.json", result)
    rss = result["worker_rss_mib_after_run"]
    marks = {n: rss[n - 1] for n in (1, 10, 20) if n <= len(rss)}
    print(
        f"worker RSS after runs {marks} MiB; growth {result['growth_mib']} MiB"
        f" (limit {result['max_growth_mib']}); one run's aggregate + entity index:"
        f" {result['per_run_data_mib']} MiB",
        flush=True,
    )
    print(json.dumps({"passed": result["passed"]}), flush=True)
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
