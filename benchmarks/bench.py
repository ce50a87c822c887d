"""volt-agent against the simulators under the real APIs' limits: ``python -m benchmarks.bench``.

For each workload: generate the workspace, serve it with realistic latency and the documented
rate limits enforced by the simulators, start a throwaway Temporal dev server (one per
benchmark invocation), a ``volt-agent worker`` process and ``volt-agent run --no-worker``
(both with the repository's ``config/config.yaml``, so the clients' limits are the
configured ones), then measure: wall time (the ``run`` process) and per stage (workflow
history), requests (simulator counters), LLM calls (the fake OpenAI-compatible server),
peak RSS of both processes (``/proc/<pid>/status`` ``VmHWM``), history events and the
largest event. The original design's strategy is replayed on the same simulators (or, for
``org``, counted — see ``original_strategy``). Results go to ``benchmarks/results/{name}.json``
and the tables of ``docs/BENCHMARKS.md``.

Usage: ``python -m benchmarks.bench [small] [team] [org] [--llm fake|template]``
(``make bench`` = small + team + small-cap50 + small-cap1000, ``make bench-org`` = org).
``{small,team}-cap{50,1000}`` play the Toggl server's page-size cap 50 or 1000 (the
simulator's default is 200) and count the original and the peer instead of replaying them;
every workload checks its requests against ``benchmarks.formula``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from temporalio.client import Client

from benchmarks.measure import MIB, REPORT_STAGES, PeakRss, history_facts
from benchmarks.original_strategy import (
    FIBERY_RATE,
    TOGGL_RATE,
    OriginalResult,
    estimate_original,
    run_original,
)
from benchmarks.peer_strategy import PeerResult, estimate_peer, run_peer
from benchmarks.report import target_line, targets_for, update_markdown, write_json
from benchmarks.request_check import request_facts, request_lines, with_page_cap
from benchmarks.resources import ProcessSampler, Sample, resource_lines, resource_summary
from benchmarks.variant import use_llm_server
from volt_agent.config import LlmSettings
from volt_agent.domain.aggregation import referenced_entities
from volt_agent.domain.models import TogglAggregated
from volt_agent.pipeline.devserver import DevServer
from volt_agent.sandbox import (
    FiberySimulatorOptions,
    Simulators,
    TogglSimulatorOptions,
    WorkspaceSpec,
    generate_workspace,
    run_simulators,
)
from volt_agent.sandbox.fake_llm import FAKE_LLM_KEY, FakeLlm

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"
DOC = REPO / "docs" / "BENCHMARKS.md"
LATENCY_SECONDS = (0.1, 0.3)
BURST = 2
"""Leaky-bucket capacity of both simulators: a client pacing at exactly the documented rate
is never refused despite the simulated latency jitter; the floor ignores it (see the doc)."""
SEED = 2026
RUN_TIMEOUT_SECONDS = 3 * 3600


STRICT_DOCUMENTS_CAP = FiberySimulatorOptions().max_secrets_per_documents_call
PUBLIC_CLIENT_READINGS = {"page_cap": 1000, "documents_cap": None}
"""What the busiest public clients rely on and no source contradicts: 1000-row report pages
(a public Python v3 client's ``page_size``) and no cap on secrets per ``get-documents`` call
(none is published). The request targets of ``team`` and ``org`` are measured under these;
``small`` and the ``-cap`` workloads play the stricter readings (docs/BENCHMARKS.md)."""


@dataclass(frozen=True)
class Workload:
    name: str
    users: int
    days: int
    replay_original: bool
    """Replay the original strategy (small, team) or only count it (org: over an hour)."""
    page_cap: int | None = None
    """The Toggl simulator's page-size cap (``max_page_size``; ``None``: its default, 200)."""
    documents_cap: int | None = STRICT_DOCUMENTS_CAP
    """The Fibery simulator's cap of secrets per ``get-documents`` call (``None``: no cap)."""

    @property
    def spec(self) -> WorkspaceSpec:
        return WorkspaceSpec(users=self.users, days=self.days, seed=SEED)

    @property
    def dates(self) -> tuple[date, date]:
        start = self.spec.start_date
        return start, start + timedelta(days=self.days - 1)


WORKLOADS = {
    "small": Workload("small", 5, 7, replay_original=True),
    "team": Workload("team", 50, 7, replay_original=True, **PUBLIC_CLIENT_READINGS),
    "org": Workload("org", 500, 28, replay_original=False, **PUBLIC_CLIENT_READINGS),
    # on request: make bench-org2
    "org2": Workload("org2", 1000, 28, replay_original=False, **PUBLIC_CLIENT_READINGS),
    **{
        f"{base}-cap{cap}": Workload(f"{base}-cap{cap}", users, 7, False, page_cap=cap)
        for base, users, caps in (("small", 5, (50, 1000)), ("team", 50, (50, 200, 1000)))
        for cap in caps
    },
}


def simulator_options() -> tuple[TogglSimulatorOptions, FiberySimulatorOptions]:
    toggl = TogglSimulatorOptions(  # no hourly quota, as docs/BENCHMARKS.md states
        requests_per_second=TOGGL_RATE,
        burst=BURST,
        latency_seconds=LATENCY_SECONDS,
        seed=1,
        hourly_quota=None,
        me_hourly_quota=None,
    )
    fibery = FiberySimulatorOptions(
        requests_per_second=FIBERY_RATE, burst=BURST, latency_seconds=LATENCY_SECONDS, seed=2
    )
    return toggl, fibery


def log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def write_config(folder: Path, sims: Simulators, server: DevServer, task_queue: str) -> Path:
    """The repository config pointed at the simulators and the throwaway server."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
    config["output_dir"] = str(folder / "runs")
    config["data_dir"] = str(folder / "data")
    config["toggl"].update(base_url=sims.toggl.base_url, workspace_id=sims.workspace_id)
    config["fibery"]["base_url"] = sims.fibery.base_url
    config["temporal"].update(address=server.address, task_queue=task_queue)
    if "prompts_dir" in LlmSettings.model_fields:  # the run's cwd is not the repository
        config.setdefault("llm", {})["prompts_dir"] = str(REPO / "config" / "prompts")
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    enrichment = (REPO / "config" / "enrichment_config.yaml").read_text(encoding="utf-8")
    (folder / "enrichment_config.yaml").write_text(enrichment, encoding="utf-8")
    return path


def cli_argv() -> list[str]:
    script = Path(sys.executable).parent / "volt-agent"
    return [str(script)] if script.exists() else [sys.executable, "-m", "volt_agent.cli"]


def run_argv(start: date, end: date, run_id: str, config: Path) -> list[str]:
    """``volt-agent run --no-worker`` of one run: the long-lived worker does the work."""
    return [
        *cli_argv(),
        "run",
        "--no-worker",
        "--start-date",
        start.isoformat(),
        "--end-date",
        end.isoformat(),
        "--run-id",
        run_id,
        "--config",
        str(config),
    ]


def process_env(sims: Simulators, home: Path, llm_url: str | None) -> dict[str, str]:
    """Only what the run needs: no inherited tokens, keys or TEMPORAL_* settings."""
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TOGGL_API_TOKEN": sims.toggl.token,
        "FIBERY_API_TOKEN": sims.fibery.token,
    }
    if llm_url is not None:
        env |= {"OPENAI_API_KEY": FAKE_LLM_KEY, "OPENAI_BASE_URL": llm_url}
    return env


@contextlib.contextmanager
def worker_process(
    config: Path, env: dict[str, str], folder: Path, rss: PeakRss
) -> Iterator[subprocess.Popen[bytes]]:
    """A ``volt-agent worker`` process, polling once this yields; stopped with SIGINT."""
    log_path = folder / "worker.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI, fixed argv
            [*cli_argv(), "worker", "--config", str(config), *probe_argv(folder)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=folder,
        )
    rss.watch(proc.pid)
    try:
        deadline = time.monotonic() + 60
        while b"Worker polling" not in log_path.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        yield proc
    finally:
        rss.sample(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run_cli(
    config: Path,
    env: dict[str, str],
    folder: Path,
    *,
    workload: Workload,
    run_id: str,
    rss: PeakRss,
) -> tuple[int, float, int]:
    """``volt-agent run --no-worker`` to the end: exit code, wall seconds, peak RSS bytes."""
    start, end = workload.dates
    argv = run_argv(start, end, run_id, config)
    with (folder / "run.log").open("wb") as out:
        began = time.monotonic()
        proc = subprocess.Popen(  # noqa: S603 - our own CLI, fixed argv
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=folder,
        )
        rss.watch(proc.pid)
        while proc.poll() is None:
            rss.sample(proc.pid)
            if time.monotonic() - began > RUN_TIMEOUT_SECONDS:
                proc.kill()
            time.sleep(0.05)
        wall = time.monotonic() - began
    return proc.returncode, wall, rss.peak(proc.pid)


LOOP_PROBE_FILE = "loop_probe.json"


def probe_argv(folder: Path) -> list[str]:
    """The worker measures its event loop's stalls into the bench folder (``loop_probe``)."""
    return ["--loop-probe", str(folder / LOOP_PROBE_FILE)]


async def resource_facts(
    address: str, run_id: str, samples: list[Sample], folder: Path, meta: dict[str, Any]
) -> dict[str, Any]:
    """The worker's CPU and RSS per stage and its event loop's longest stall in the run."""
    client = await Client.connect(address)
    history = await client.get_workflow_handle(f"toggl-fibery-{run_id}").fetch_history()
    entries = meta.get("statistics", {}).get("toggl", {}).get("entries", 0)
    return resource_summary(samples, history.events, entries, folder / LOOP_PROBE_FILE)


async def fetch_history(address: str, run_id: str) -> dict[str, Any]:
    client = await Client.connect(address)
    history = await client.get_workflow_handle(f"toggl-fibery-{run_id}").fetch_history()
    return history_facts(history.events).as_dict()


def run_metadata(folder: Path, run_id: str) -> dict[str, Any]:
    path = folder / "runs" / run_id / "run_metadata.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def original_for(workload: Workload, sims: Simulators, folder: Path, run_id: str) -> OriginalResult:
    start, end = workload.dates
    if workload.replay_original:
        return asyncio.run(run_original(sims, start, end))
    aggregated = TogglAggregated.model_validate_json(
        (folder / "runs" / run_id / "toggl_aggregated.json").read_bytes()
    )
    return estimate_original(
        sims.workspace.time_entries, start, end, referenced_entities(aggregated)
    )


def bench(
    workload: Workload, server: DevServer, use_fake_llm: bool, results_dir: Path = RESULTS_DIR
) -> dict[str, Any]:
    log(f"{workload.name}: generating {workload.users} users x {workload.days} days")
    workspace = generate_workspace(workload.spec)
    toggl_options, fibery_options = simulator_options()
    toggl_options = with_page_cap(toggl_options, workload.page_cap)
    fibery_options = replace(fibery_options, max_secrets_per_documents_call=workload.documents_cap)
    fake = FakeLlm() if use_fake_llm else None
    run_id = f"bench-{workload.name}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    with (
        tempfile.TemporaryDirectory(prefix=f"volt-bench-{workload.name}-") as tmp,
        run_simulators(workspace, toggl_options, fibery_options) as sims,
        fake.serve() if fake is not None else contextlib.nullcontext() as llm_url,
        PeakRss() as rss,
        ProcessSampler() as sampler,
    ):
        folder = Path(tmp)
        config = write_config(folder, sims, server, f"bench-{uuid.uuid4()}")
        use_llm_server(config, llm_url)
        env = process_env(sims, folder, llm_url)
        with worker_process(config, env, folder, rss) as worker:
            sampler.watch(worker.pid)
            time.sleep(1.5)  # let the simulators' buckets drain of anything earlier
            sims.toggl.reset_stats()
            sims.fibery.reset_stats()
            log(f"{workload.name}: run {run_id} (worker pid {worker.pid})")
            code, wall, cli_rss = run_cli(
                config, env, folder, workload=workload, run_id=run_id, rss=rss
            )
            worker_rss = rss.peak(worker.pid)
        toggl_stats, fibery_stats = sims.toggl.stats(), sims.fibery.stats()
        if code != 0:
            tail = (folder / "run.log").read_text(errors="replace")[-3000:]
            worker_tail = (folder / "worker.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(
                f"the run failed (exit {code}):\n{tail}\n--- worker ---\n{worker_tail}"
            )
        history = asyncio.run(fetch_history(server.address, run_id))
        meta = run_metadata(folder, run_id)
        resources = asyncio.run(
            resource_facts(server.address, run_id, sampler.samples(), folder, meta)
        )
        llm_calls = len(fake.received()) if fake is not None else 0
        log(f"{workload.name}: done in {wall:.1f} s; original strategy next")
        time.sleep(1.5)
        original = original_for(workload, sims, folder, run_id)
        peer = peer_for(workload, sims)
    measured = Measured(
        run_id=run_id,
        wall=wall,
        exit_code=code,
        cli_rss=cli_rss,
        worker_rss=worker_rss,
        toggl_stats=toggl_stats,
        fibery_stats=fibery_stats,
        history=history,
        meta=meta,
        llm_calls=llm_calls,
        resources=resources,
    )
    return assemble(workload, measured, original, peer, results_dir=results_dir)


def peer_for(workload: Workload, sims: Simulators) -> PeerResult:
    """The best public peer's Toggl strategy: replayed where the original is, else counted."""
    start, end = workload.dates
    if workload.replay_original:
        time.sleep(1.5)  # the buckets drain of the original's requests
        return asyncio.run(run_peer(sims, start, end))
    return estimate_peer(sims.workspace.time_entries, start, end, LATENCY_SECONDS[0])


@dataclass(frozen=True)
class Measured:
    """Raw measurements of one pipeline run."""

    run_id: str
    wall: float
    exit_code: int
    cli_rss: int
    worker_rss: int
    toggl_stats: dict[str, int]
    fibery_stats: dict[str, int]
    history: dict[str, Any]
    meta: dict[str, Any]
    llm_calls: int
    resources: dict[str, Any] | None = None
    """``cpu`` and ``event_loop`` of the worker (``resource_facts``)."""


def assemble(
    workload: Workload,
    m: Measured,
    original: OriginalResult,
    peer: PeerResult | None = None,
    *,
    results_dir: Path = RESULTS_DIR,
) -> dict[str, Any]:
    """The results file of one workload, targets checked (org2's against the org results
    in ``results_dir``)."""
    run_id, wall, code, history, llm_calls = m.run_id, m.wall, m.exit_code, m.history, m.llm_calls
    toggl_stats, fibery_stats = m.toggl_stats, m.fibery_stats
    cli_rss, worker_rss = m.cli_rss, m.worker_rss
    statistics = m.meta.get("statistics", {})
    toggl_requests, fibery_requests = toggl_stats["requests"], fibery_stats["requests"]
    toggl_admitted = toggl_requests - toggl_stats["rate_limited"]
    fibery_admitted = fibery_requests - fibery_stats["rate_limited"]
    floor = toggl_admitted / TOGGL_RATE + fibery_admitted / FIBERY_RATE
    llm_seconds = sum(history["stages"].get(s, 0.0) for s in REPORT_STAGES) if llm_calls else 0.0
    ours = toggl_requests + fibery_requests
    result: dict[str, Any] = {
        "workload": workload.name,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "spec": {"users": workload.users, "days": workload.days, "seed": SEED},
        "simulators": {
            "latency_seconds": list(LATENCY_SECONDS),
            "toggl_requests_per_second": TOGGL_RATE,
            "fibery_requests_per_second": FIBERY_RATE,
            "burst": BURST,
        },
        "pipeline": {
            "run_id": run_id,
            "exit_code": code,
            "status": m.meta.get("status"),
            "wall_seconds": round(wall, 1),
            "entries": statistics.get("toggl", {}).get("entries", 0),
            "entities": statistics.get("enrichment", {}).get("entities", 0),
            "toggl_requests": toggl_requests,
            "fibery_requests": fibery_requests,
            "rate_limited": toggl_stats["rate_limited"] + fibery_stats["rate_limited"],
            "toggl_by_endpoint": {k: v for k, v in toggl_stats.items() if k.startswith("toggl.")},
            "fibery_by_endpoint": {
                k: v for k, v in fibery_stats.items() if k.startswith("fibery.")
            },
            "llm": {"calls": llm_calls, "seconds": round(llm_seconds, 2)},
            "worker_peak_rss_mib": round(worker_rss / MIB, 1),
            "cli_peak_rss_mib": round(cli_rss / MIB, 1),
            "history": history,
            "statistics": statistics,
        },
        "floor": {
            "seconds": round(floor, 1),
            "toggl_seconds": round(toggl_admitted / TOGGL_RATE, 1),
            "fibery_seconds": round(fibery_admitted / FIBERY_RATE, 1),
            "wall_ratio": round(wall / floor, 3) if floor else 0.0,
        },
        "original": original.as_dict(),
        "request_reduction": round(original.requests / ours, 2) if ours else 0.0,
    }
    result["pipeline"].update(m.resources or {})
    fetch = history["stages"].get("toggl_fetch")
    result |= request_facts(
        m.meta,
        toggl_stats,
        fibery_stats,
        fetch,
        peer,
        page_cap=workload.page_cap,
        documents_cap=workload.documents_cap,
    )
    result["targets"] = [t.as_dict() for t in targets_for(workload.name, result, results_dir)]
    return result


def summary(result: dict[str, Any]) -> list[str]:
    pipeline, floor, original = result["pipeline"], result["floor"], result["original"]
    stages = ", ".join(f"{k} {v:.1f}" for k, v in pipeline["history"]["stages"].items())
    lines = [
        f"== {result['workload']}: {pipeline['entries']} entries, {pipeline['entities']} entities",
        f"   wall {pipeline['wall_seconds']} s (workflow"
        f" {pipeline['history']['workflow_seconds']} s); stages (s): {stages}",
        f"   requests: Toggl {pipeline['toggl_requests']}, Fibery {pipeline['fibery_requests']}"
        f" (429: {pipeline['rate_limited']}); LLM calls {pipeline['llm']['calls']}",
        f"   rate-limit floor {floor['seconds']} s (Toggl {floor['toggl_seconds']} +"
        f" Fibery {floor['fibery_seconds']}); wall / floor = {floor['wall_ratio']:.2f}",
        f"   original strategy ({original['mode']}): Toggl {original['toggl_requests']} +"
        f" Fibery {original['fibery_requests']} requests, {original['wall_seconds']} s;"
        f" {result['request_reduction']}x more requests than volt-agent",
        f"   peak RSS: worker {pipeline['worker_peak_rss_mib']} MiB,"
        f" CLI {pipeline['cli_peak_rss_mib']} MiB; history {pipeline['history']['events']}"
        f" events, largest {pipeline['history']['largest_event_bytes']} bytes"
        f" ({pipeline['history']['largest_event_type']})",
    ]
    lines += [f"   {line}" for line in resource_lines(pipeline)]
    lines += [f"   {line}" for line in request_lines(result)]
    lines += [f"   {target_line(t)}" for t in result["targets"]]
    return lines


VariantRunner = Callable[..., bool]
"""``(server, *, use_fake_llm, results_dir)`` → whether every target passed."""


def variant_workloads() -> dict[str, VariantRunner]:
    """Workloads run by their own modules (imported here: they import this one)."""
    from benchmarks.quota_bench import QUOTA_WORKLOADS, run_quota_workloads  # noqa: PLC0415
    from benchmarks.workers_bench import NAME, run_workers_workload  # noqa: PLC0415

    variants: dict[str, VariantRunner] = {
        name: functools.partial(run_quota_workloads, [workload])
        for name, workload in QUOTA_WORKLOADS.items()
    }
    return variants | {NAME: run_workers_workload}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__)
    variants = variant_workloads()
    parser.add_argument(
        "workloads", nargs="*", default=["small", "team"], choices=[*WORKLOADS, *variants]
    )
    parser.add_argument("--llm", choices=("fake", "template"), default="fake")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--doc", type=Path, default=DOC, help="page whose tables to rewrite (a missing one: none)"
    )
    args = parser.parse_args(argv)
    failed = False
    with DevServer() as server:
        log(f"throwaway Temporal dev server at {server.address}")
        for name in args.workloads:
            if name in variants:
                kwargs = {"use_fake_llm": args.llm == "fake", "results_dir": args.results_dir}
                failed |= not variants[name](server, **kwargs)
                continue
            result = bench(
                WORKLOADS[name],
                server,
                use_fake_llm=args.llm == "fake",
                results_dir=args.results_dir,
            )
            write_json(args.results_dir / f"{name}.json", result)
            for line in summary(result):
                print(line, flush=True)
            failed |= not all(t["passed"] for t in result["targets"])
    update_markdown(args.doc, args.results_dir)
    log(f"results in {args.results_dir}, tables in {args.doc}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
