"""Where the worker's memory goes, activity by activity: ``python -m benchmarks.memory_profile``.

Generates the benchmark's workspace, serves it from the in-process simulators (ASGI, no
latency, no rate limit) and runs the pipeline's activities in one process, in the
workflow's order, each in a Temporal ``ActivityEnvironment`` — no server, no worker, so a
500 x 28 profile takes minutes, not the bench's twelve. For each activity it records the
peak RSS (``VmHWM``, reset before the activity through ``/proc/self/clear_refs``) and, with
``--tracemalloc``, the traced peak and the top allocation sites at that peak (a sampler
thread snapshots whenever the traced size reaches a new high).

Usage: ``python -m benchmarks.memory_profile --users 100 --days 28 [--tracemalloc]
[--top 10] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from temporalio.testing import ActivityEnvironment

from volt_agent.config import Secrets, Settings, load_settings
from volt_agent.demo import sandbox_settings, sandbox_timezones
from volt_agent.pipeline.activities import PipelineActivities
from volt_agent.pipeline.types import (
    EnrichBatchInput,
    ExtractResult,
    FetchInput,
    PersonReportInput,
    RunRef,
)
from volt_agent.reporting.writer import TemplateReportWriter
from volt_agent.sandbox import (
    FiberySimulatorOptions,
    TogglSimulatorOptions,
    WorkspaceSpec,
    create_fibery_app,
    create_toggl_app,
    generate_workspace,
)
from volt_agent.sources.fibery import FiberyClient
from volt_agent.sources.toggl import TogglClient

REPO = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024
SEED = 2026
FAST = 10_000.0
"""Client rate limits here: the simulators enforce none, the profile is about memory."""


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux ≥ 4.0); False when refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclasses.dataclass
class Site:
    where: str
    mib: float
    count: int


@dataclasses.dataclass
class Step:
    activity: str
    calls: int = 0
    seconds: float = 0.0
    rss_before_mib: float = 0.0
    peak_rss_mib: float = 0.0
    rss_after_mib: float = 0.0
    traced_peak_mib: float | None = None
    top: list[Site] = dataclasses.field(default_factory=list)


class PeakSampler:
    """Snapshots the traced allocations whenever their size reaches a new high (polled)."""

    def __init__(self, interval: float = 0.05) -> None:
        self._interval = interval
        self._stop = threading.Event()
        self.peak = 0
        self.snapshot: tracemalloc.Snapshot | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakSampler:
        tracemalloc.reset_peak()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        _, peak = tracemalloc.get_traced_memory()
        self.peak = max(self.peak, peak)

    def _run(self) -> None:
        taken = 0
        while not self._stop.wait(self._interval):
            current, _ = tracemalloc.get_traced_memory()
            if current > taken * 1.1 and current > 8 * MIB:
                self.snapshot = tracemalloc.take_snapshot()
                taken = current


def top_sites(snapshot: tracemalloc.Snapshot, limit: int) -> list[Site]:
    stats = snapshot.filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen*")]
    ).statistics("lineno")
    sites = []
    for stat in stats[:limit]:
        frame = stat.traceback[0]
        name = frame.filename
        for marker in ("/src/", "/site-packages/", "/lib/python"):
            if marker in name:
                name = name.split(marker, 1)[1]
                break
        sites.append(Site(f"{name}:{frame.lineno}", round(stat.size / MIB, 1), stat.count))
    return sites


class Profile:
    def __init__(self, *, trace: bool, top: int) -> None:
        self.trace = trace
        self.top = top
        self.steps: dict[str, Step] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        gc.collect()
        step = self.steps.setdefault(name, Step(name))
        first = step.calls == 0
        if first:
            step.rss_before_mib = _status_kib("VmRSS") / 1024
        _reset_peak()
        started = time.perf_counter()
        sampler = PeakSampler() if self.trace else None
        if sampler is not None:
            sampler.__enter__()
        try:
            yield
        finally:
            if sampler is not None:
                sampler.__exit__()
                if step.traced_peak_mib is None or sampler.peak / MIB > step.traced_peak_mib:
                    step.traced_peak_mib = round(sampler.peak / MIB, 1)
                    if sampler.snapshot is not None:
                        step.top = top_sites(sampler.snapshot, self.top)
            step.calls += 1
            step.seconds += time.perf_counter() - started
            step.peak_rss_mib = max(step.peak_rss_mib, _status_kib("VmHWM") / 1024)
            gc.collect()
            step.rss_after_mib = _status_kib("VmRSS") / 1024

    async def run(self, name: str, call: Callable[[], Awaitable[Any]]) -> Any:
        with self.step(name):
            return await call()


def settings_for(ws: Any, output_dir: Path) -> Settings:
    base = load_settings(REPO / "config" / "config.yaml", env={})
    settings = sandbox_settings(
        base, "http://toggl.test", "http://fibery.test", ws.workspace_id, sandbox_timezones(ws)
    )
    return settings.model_copy(
        update={
            "output_dir": output_dir,
            "toggl": settings.toggl.model_copy(update={"requests_per_second": FAST}),
            "fibery": settings.fibery.model_copy(update={"requests_per_second": FAST}),
        }
    )


async def profile_pipeline(users: int, days: int, profile: Profile, output_dir: Path) -> None:
    spec = WorkspaceSpec(users=users, days=days, seed=SEED)
    with profile.step("generate_workspace (simulator data, not the worker)"):
        ws = generate_workspace(spec)
    settings = settings_for(ws, output_dir)
    toggl_opts = TogglSimulatorOptions(hourly_quota=None, me_hourly_quota=None)
    fibery_opts = FiberySimulatorOptions()
    toggl = TogglClient.create(
        settings.toggl,
        settings.http,
        SecretStr(toggl_opts.token),
        httpx.ASGITransport(app=create_toggl_app(ws, toggl_opts)),
    )
    fibery = FiberyClient.create(
        settings.fibery,
        settings.http,
        SecretStr(fibery_opts.token),
        httpx.ASGITransport(app=create_fibery_app(ws, fibery_opts)),
    )
    secrets = Secrets(
        toggl_api_token=SecretStr(toggl_opts.token), fibery_api_token=SecretStr(fibery_opts.token)
    )
    acts = PipelineActivities(settings, secrets, TemplateReportWriter(), toggl=toggl, fibery=fibery)
    env = ActivityEnvironment()
    run = RunRef(run_id="profile")
    start = spec.start_date
    end = start + timedelta(days=days - 1)
    try:
        await env.run(acts.cleanup_toggl_stage, run)
        await profile.run(
            "fetch_toggl_data",
            lambda: env.run(
                acts.fetch_toggl_data, FetchInput(run=run, start_date=start, end_date=end)
            ),
        )
        await profile.run("aggregate_toggl_data", lambda: env.run(acts.aggregate_toggl_data, run))
        await profile.run("generate_toggl_report", lambda: env.run(acts.generate_toggl_report, run))
        await env.run(acts.cleanup_fibery_stage, run)
        plan: ExtractResult = await profile.run(
            "extract_fibery_entities", lambda: env.run(acts.extract_fibery_entities, run)
        )
        for batch in plan.batches:
            method = getattr(acts, batch.activity)
            params = EnrichBatchInput(run=run, batch=batch)
            await profile.run("enrich (all batches)", lambda m=method, p=params: env.run(m, p))
        per = settings.reports.users_per_activity
        for i in range(0, len(plan.user_ids), per):
            params_r = PersonReportInput(run=run, user_ids=plan.user_ids[i : i + per])
            await profile.run(
                "generate_person_reports (all groups)",
                lambda p=params_r: env.run(acts.generate_person_reports, p),
            )
        await profile.run("save_enriched_data", lambda: env.run(acts.save_enriched_data, run))
        await profile.run("generate_team_report", lambda: env.run(acts.generate_team_report, run))
    finally:
        await acts.aclose()


def render(profile: Profile, users: int, days: int, worker_peak: float) -> str:
    lines = [
        f"Profile of {users} users x {days} days (in-process activities):",
        "",
        "| activity | calls | s | RSS before (MiB) | peak RSS (MiB) | RSS after (MiB) |"
        " traced peak (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in profile.steps.values():
        traced = "" if s.traced_peak_mib is None else f"{s.traced_peak_mib:.1f}"
        lines.append(
            f"| {s.activity} | {s.calls} | {s.seconds:.1f} | {s.rss_before_mib:.0f} |"
            f" {s.peak_rss_mib:.0f} | {s.rss_after_mib:.0f} | {traced} |"
        )
    lines += ["", f"Peak RSS of the activities: {worker_peak:.0f} MiB"]
    for s in profile.steps.values():
        if s.top:
            lines += ["", f"Top allocation sites at the traced peak of {s.activity}:", ""]
            lines += [f"- {site.mib:.1f} MiB ({site.count} blocks) {site.where}" for site in s.top]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--tracemalloc", action="store_true", help="traced peaks and top sites")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None, help="write the numbers here too")
    parser.add_argument("--output", type=Path, default=None, help="keep the run folder here")
    args = parser.parse_args(argv)
    profile = Profile(trace=args.tracemalloc, top=args.top)
    if args.tracemalloc:
        tracemalloc.start()
    with tempfile.TemporaryDirectory(prefix="volt-memprof-") as tmp:
        output = args.output or Path(tmp)
        asyncio.run(profile_pipeline(args.users, args.days, profile, output))
    worker = [s for s in profile.steps.values() if not s.activity.startswith("generate_workspace")]
    worker_peak = max((s.peak_rss_mib for s in worker), default=0.0)
    print(render(profile, args.users, args.days, worker_peak))
    if args.json is not None:
        payload = {
            "users": args.users,
            "days": args.days,
            "worker_peak_rss_mib": round(worker_peak, 1),
            "steps": [dataclasses.asdict(s) for s in profile.steps.values()],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
