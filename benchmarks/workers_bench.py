"""Several workers side by side: ``python -m benchmarks.bench team-3w``.

Three ``volt-agent worker`` processes (``VOLT_AGENT_API_WORKERS=3``: each one's clients send a
third of each API's rate) take three runs of the ``team`` workload started at once with
``volt-agent run --no-worker``, twice: with the run folders on local disk, then in an S3
bucket (moto in server mode, a separate process, ``tests.s3_server.MotoServer``). A run's
Toggl fetch is one activity, so one run alone would get one worker's third of the Toggl rate;
three runs side by side are what several workers are for. The simulators' buckets hold 3
requests: the fleet's documented worst case is the limit plus one request per worker
(docs/TEMPORAL.md "Global API limits across workers"), so every 429 is unplanned.

Checks (exit 1 on a miss): every run completes; 0 429s; wall / rate-limit floor <= 1.3 with
the bucket (the floor of all three runs' requests). Reported: the added cost of the bucket
per run (mean run wall with the bucket minus on local disk) and the requests to the bucket,
counted from moto's request log (``bucket_log``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean
from typing import Any

from tests.s3_server import MotoServer

from benchmarks.bench import (
    BURST,
    LATENCY_SECONDS,
    RUN_TIMEOUT_SECONDS,
    SEED,
    WORKLOADS,
    fetch_history,
    log,
    process_env,
    run_argv,
    simulator_options,
    worker_process,
    write_config,
)
from benchmarks.bucket_log import count_bucket_requests
from benchmarks.measure import PeakRss
from benchmarks.original_strategy import FIBERY_RATE, TOGGL_RATE
from benchmarks.report import Target, target_line, write_json
from benchmarks.variant import RunFacts, base_result, use_llm_server
from volt_agent.pipeline.devserver import DevServer
from volt_agent.sandbox import Simulators, generate_workspace, run_simulators
from volt_agent.sandbox.fake_llm import FakeLlm

NAME = "team-3w"
WORKLOAD = WORKLOADS["team"]
WORKERS = 3
RUNS = 3
PREFIX = "volt/runs"
WALL_RATIO_LIMIT = 1.3


@dataclass(frozen=True)
class Leg:
    """Three runs side by side on three workers, with one storage backend."""

    storage: str
    run_ids: list[str]
    exit_codes: list[int]
    run_walls: list[float]
    wall: float
    """First run started → last run ended."""
    toggl_stats: dict[str, int]
    fibery_stats: dict[str, int]
    worker_rss: int
    cli_rss: int
    llm_calls: int
    metadata: list[dict[str, Any]]

    @property
    def rate_limited(self) -> int:
        return self.toggl_stats["rate_limited"] + self.fibery_stats["rate_limited"]

    @property
    def completed(self) -> int:
        return sum(1 for m in self.metadata if m.get("status") == "completed")

    def floor(self) -> float:
        toggl = self.toggl_stats["requests"] - self.toggl_stats["rate_limited"]
        fibery = self.fibery_stats["requests"] - self.fibery_stats["rate_limited"]
        return toggl / TOGGL_RATE + fibery / FIBERY_RATE

    def as_dict(self) -> dict[str, Any]:
        return {
            "storage": self.storage,
            "run_ids": self.run_ids,
            "exit_codes": self.exit_codes,
            "completed": self.completed,
            "wall_seconds": round(self.wall, 1),
            "run_wall_seconds": [round(w, 1) for w in self.run_walls],
            "toggl_requests": self.toggl_stats["requests"],
            "fibery_requests": self.fibery_stats["requests"],
            "rate_limited": self.rate_limited,
            "floor_seconds": round(self.floor(), 1),
            "wall_ratio": round(self.wall / self.floor(), 3) if self.floor() else 0.0,
        }


@contextlib.contextmanager
def fleet(
    config: Path, env: dict[str, str], folder: Path, rss: PeakRss
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``WORKERS`` ``volt-agent worker`` processes, each in its own folder (its log)."""
    with contextlib.ExitStack() as stack:
        workers = []
        for number in range(1, WORKERS + 1):
            home = folder / f"worker-{number}"
            home.mkdir()
            workers.append(stack.enter_context(worker_process(config, env, home, rss)))
        yield workers


def run_side_by_side(
    config: Path, env: dict[str, str], folder: Path, run_ids: list[str], rss: PeakRss
) -> tuple[list[int], list[float], float, int]:
    """Start one ``run --no-worker`` per run id at once; exit codes, each run's wall, the
    wall from the first start to the last end, and the highest peak RSS of the runs."""
    start, end = WORKLOAD.dates
    began = time.monotonic()
    procs = []
    for run_id in run_ids:
        with (folder / f"{run_id}.log").open("wb") as out:
            procs.append(
                subprocess.Popen(  # noqa: S603 - our own CLI, fixed argv
                    run_argv(start, end, run_id, config),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    cwd=folder,
                )
            )
        rss.watch(procs[-1].pid)
    ended: dict[int, float] = {}
    while len(ended) < len(procs):
        for index, proc in enumerate(procs):
            if index not in ended:
                rss.sample(proc.pid)
                if proc.poll() is not None:
                    ended[index] = time.monotonic()
                elif time.monotonic() - began > RUN_TIMEOUT_SECONDS:
                    proc.send_signal(signal.SIGKILL)
        time.sleep(0.05)
    walls = [ended[i] - began for i in range(len(procs))]
    peak = max(rss.peak(p.pid) for p in procs)
    return [p.returncode for p in procs], walls, max(walls), peak


def run_leg(
    storage: str,
    *,
    sims: Simulators,
    server: DevServer,
    folder: Path,
    env: dict[str, str],
    fake: FakeLlm | None,
    read_metadata: Callable[[str], dict[str, Any]],
) -> Leg:
    config = write_config(folder, sims, server, f"bench-{uuid.uuid4()}")
    use_llm_server(config, env.get("OPENAI_BASE_URL"))
    stamp = f"{datetime.now(UTC):%Y%m%d-%H%M%S}"
    run_ids = [f"bench-{NAME}-{storage}-{stamp}-{n}" for n in range(1, RUNS + 1)]
    with PeakRss() as rss, fleet(config, env, folder, rss) as workers:
        time.sleep(1.5)  # let the simulators' buckets drain of anything earlier
        sims.toggl.reset_stats()
        sims.fibery.reset_stats()
        llm_before = len(fake.received()) if fake is not None else 0
        log(f"{NAME} ({storage}): {RUNS} runs on {WORKERS} workers")
        codes, walls, wall, cli_rss = run_side_by_side(config, env, folder, run_ids, rss)
        worker_rss = max(rss.peak(w.pid) for w in workers)
    if any(codes):
        tails = [(folder / f"{r}.log").read_text(errors="replace")[-1500:] for r in run_ids]
        raise RuntimeError(f"{NAME} ({storage}): a run failed {codes}:\n" + "\n".join(tails))
    return Leg(
        storage=storage,
        run_ids=run_ids,
        exit_codes=codes,
        run_walls=walls,
        wall=wall,
        toggl_stats=sims.toggl.stats(),
        fibery_stats=sims.fibery.stats(),
        worker_rss=worker_rss,
        cli_rss=cli_rss,
        llm_calls=len(fake.received()) - llm_before if fake is not None else 0,
        metadata=[read_metadata(run_id) for run_id in run_ids],
    )


def storage_cost(local: Leg, bucket: Leg, bucket_log: Path, bucket_name: str) -> dict[str, Any]:
    lines = bucket_log.read_text(errors="replace").splitlines()
    requests = count_bucket_requests(lines, bucket_name, bucket.run_ids)
    per_run = [requests.by_run.get(run_id, 0) for run_id in bucket.run_ids]
    return {
        "added_seconds_per_run": round(mean(bucket.run_walls) - mean(local.run_walls), 1),
        "added_seconds_all_runs": round(bucket.wall - local.wall, 1),
        "bucket_requests": requests.as_dict(),
        "bucket_requests_per_run": per_run,
        "bucket_requests_per_run_mean": round(mean(per_run), 1),
    }


def workers_targets(result: dict[str, Any]) -> list[Target]:
    legs = result["legs"]
    return [
        Target(
            "runs completed (3 local + 3 S3)",
            sum(leg["completed"] for leg in legs.values()),
            2 * RUNS,
            ">=",
        ),
        Target("429s, both legs", sum(leg["rate_limited"] for leg in legs.values()), 0, "<="),
        Target("wall / rate-limit floor (S3)", result["floor"]["wall_ratio"], 1.3, "<="),
    ]


def bench_workers(server: DevServer, use_fake_llm: bool = True) -> dict[str, Any]:
    """Both legs; the results file of ``team-3w`` (the S3 leg in the common columns)."""
    log(f"{NAME}: generating {WORKLOAD.users} users x {WORKLOAD.days} days")
    workspace = generate_workspace(WORKLOAD.spec)
    toggl_options, fibery_options = simulator_options()
    burst = max(BURST, WORKERS)
    toggl_options = replace(toggl_options, burst=burst)
    fibery_options = replace(fibery_options, burst=burst)
    fake = FakeLlm() if use_fake_llm else None
    with (
        tempfile.TemporaryDirectory(prefix=f"volt-bench-{NAME}-") as tmp,
        run_simulators(workspace, toggl_options, fibery_options) as sims,
        fake.serve() if fake is not None else contextlib.nullcontext() as llm_url,
        MotoServer(log_path=Path(tmp) / "moto.log") as s3,
    ):
        folder = Path(tmp)
        base_env = process_env(sims, folder, llm_url) | {"VOLT_AGENT_API_WORKERS": str(WORKERS)}
        local_folder = folder / "local"
        local_folder.mkdir()

        def local_metadata(run_id: str) -> dict[str, Any]:
            path = local_folder / "runs" / run_id / "run_metadata.json"
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return data

        local = run_leg(
            "local",
            sims=sims,
            server=server,
            folder=local_folder,
            env=base_env,
            fake=fake,
            read_metadata=local_metadata,
        )
        bucket = s3.new_bucket()
        bucket_env = base_env | s3.env() | {"VOLT_AGENT_STORAGE_URL": f"s3://{bucket}/{PREFIX}"}
        s3_folder = folder / "s3"
        s3_folder.mkdir()

        def bucket_metadata(run_id: str) -> dict[str, Any]:
            raw = s3.object(bucket, f"{PREFIX}/{run_id}/run_metadata.json")
            data: dict[str, Any] = json.loads(raw or b"{}")
            return data

        in_bucket = run_leg(
            "s3",
            sims=sims,
            server=server,
            folder=s3_folder,
            env=bucket_env,
            fake=fake,
            read_metadata=bucket_metadata,
        )
        history = asyncio.run(fetch_history(server.address, in_bucket.run_ids[0]))
        cost = storage_cost(local, in_bucket, folder / "moto.log", bucket)
    facts = RunFacts(
        name=NAME,
        users=WORKLOAD.users,
        days=WORKLOAD.days,
        seed=SEED,
        run_ids=in_bucket.run_ids,
        wall=in_bucket.wall,
        toggl_stats=in_bucket.toggl_stats,
        fibery_stats=in_bucket.fibery_stats,
        history=history,
        statistics=in_bucket.metadata[0].get("statistics", {}),
        llm_calls=in_bucket.llm_calls,
        worker_rss=in_bucket.worker_rss,
        cli_rss=in_bucket.cli_rss,
        workers=WORKERS,
        storage="s3",
    )
    simulators = {
        "latency_seconds": list(LATENCY_SECONDS),
        "toggl_requests_per_second": TOGGL_RATE,
        "fibery_requests_per_second": FIBERY_RATE,
        "burst": burst,
    }
    result = base_result(facts, simulators)
    result["runs"] = RUNS
    result["legs"] = {"local": local.as_dict(), "s3": in_bucket.as_dict()}
    result["storage_cost"] = cost
    result["targets"] = [t.as_dict() for t in workers_targets(result)]
    return result


def workers_summary(result: dict[str, Any]) -> list[str]:
    local, bucket = result["legs"]["local"], result["legs"]["s3"]
    cost = result["storage_cost"]
    lines = [
        f"== {NAME}: {RUNS} team runs side by side on {WORKERS} workers",
        f"   local: wall {local['wall_seconds']} s (runs {local['run_wall_seconds']}),"
        f" floor {local['floor_seconds']} s, ratio {local['wall_ratio']}, 429s"
        f" {local['rate_limited']}",
        f"   S3:    wall {bucket['wall_seconds']} s (runs {bucket['run_wall_seconds']}),"
        f" floor {bucket['floor_seconds']} s, ratio {bucket['wall_ratio']}, 429s"
        f" {bucket['rate_limited']}",
        f"   bucket: {cost['added_seconds_per_run']:+} s per run;"
        f" {cost['bucket_requests']['total']} requests"
        f" ({cost['bucket_requests_per_run_mean']} per run, by method"
        f" {cost['bucket_requests']['by_method']})",
    ]
    return lines + [f"   {target_line(t)}" for t in result["targets"]]


def run_workers_workload(server: DevServer, *, use_fake_llm: bool, results_dir: Path) -> bool:
    """``team-3w``: write ``team-3w.json``, print the summary; whether every target passed."""
    result = bench_workers(server, use_fake_llm)
    write_json(results_dir / f"{NAME}.json", result)
    for line in workers_summary(result):
        print(line, flush=True)
    return all(t["passed"] for t in result["targets"])
