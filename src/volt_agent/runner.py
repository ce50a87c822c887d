"""What ``volt-agent run``, ``worker`` and ``show-run`` do, apart from argument parsing."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.service import RPCError
from temporalio.worker import Worker

from volt_agent.config import Secrets, Settings
from volt_agent.errors import ConfigError, UserInputError
from volt_agent.malloc_arenas import cap_malloc_arenas
from volt_agent.metrics import metrics_runtime
from volt_agent.pipeline.client import connect
from volt_agent.pipeline.loop_probe import probing
from volt_agent.pipeline.service import (
    check_before_start,
    is_run_task_queue,
    no_worker_notice,
    prepare_run,
    query_progress,
    run_task_queue,
    start_run,
    workflow_id_for,
    workflow_pollers,
)
from volt_agent.pipeline.shutdown import run_until_terminated
from volt_agent.pipeline.types import PipelineInput, Progress, StartFrom
from volt_agent.pipeline.waits import waiting_note
from volt_agent.progress_view import Detached, follow
from volt_agent.reporting.llm_egress import egress_notice
from volt_agent.sources.recording import record_folder
from volt_agent.storage.run_folder import (
    INDIVIDUAL_DIR,
    REPORTS_DIR,
    RunFolder,
    open_run_folder,
    validate_run_id,
)
from volt_agent.storage.run_metadata import RunMetadata, load_metadata

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_DETACHED = 0
WORKER_GC_THRESHOLD = 10_000
"""Allocations between two young collections in a worker process (Python's default: 700)."""


@contextlib.asynccontextmanager
async def worker_scope(
    client: Client,
    settings: Settings,
    secrets: Secrets,
    enabled: bool,
    *,
    task_queue: str,
    record_dir: Path | None = None,
) -> AsyncIterator[Worker | None]:
    """An in-process worker on ``task_queue`` (a run's own queue, ``run_task_queue``) for the
    duration of the block, when ``enabled``; with ``record_dir`` its Toggl/Fibery exchanges
    are recorded there (``--record``)."""
    if not enabled:
        yield None
        return
    # Only a process that runs a worker pays for importing the activities and the writers
    # (``volt-agent run --no-worker`` starts about a second sooner).
    from volt_agent.pipeline.worker import build_activities, build_worker  # noqa: PLC0415

    activities = build_activities(settings, secrets, record_dir=record_dir)
    worker = build_worker(client, settings, activities, task_queue=task_queue)
    try:
        async with worker:
            yield worker
    finally:
        await activities.aclose()


async def run_pipeline(
    settings: Settings,
    secrets: Secrets,
    console: Console,
    *,
    start_date: str,
    end_date: str,
    users: str | None,
    start_from: StartFrom,
    run_id: str | None,
    output_dir: Path | None,
    in_process_worker: bool = True,
    follow_progress: bool = True,
    record_dir: Path | None = None,
    force: bool = False,
    config_path: Path | None = None,
    deliver: str | None = None,
) -> int:
    """Validate, start and follow one run. Returns the process exit code.

    ``record_dir`` (``--record``) needs the in-process worker: it records that worker's
    requests, and other workers' are out of reach. ``config_path`` is named in the line
    ``--no-worker`` prints about which settings the workers take from their own config.

    With the in-process worker the run goes to its own task queue (``run_task_queue``), so
    this process does no other run's work; with ``in_process_worker=False`` it goes to the
    shared ``temporal.task_queue`` of the long-lived workers, which use their own settings.
    """
    enabled = in_process_worker
    if output_dir is not None:  # the in-process worker's storage; --no-worker: for checks only
        settings = settings.model_copy(update={"output_dir": output_dir})
    if record_dir is not None and not enabled:
        raise UserInputError(
            "--record records this process's worker: drop --no-worker to record a run"
        )
    params = prepare_run(
        settings,
        start_date=start_date,
        end_date=end_date,
        users=users,
        start_from=start_from,
        run_id=run_id,
        force=force,
        deliver=deliver,
    )
    for warning in await check_before_start(settings, params, secrets, in_process_worker=enabled):
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if not enabled:
        console.print(f"[dim]{no_worker_notice(config_path)}[/]", highlight=False)
    elif notice := egress_notice(settings.llm, secrets.openai_api_key):
        console.print(f"[yellow]note:[/] {notice}", highlight=False)
    if record_dir is not None:
        record_folder(record_dir)
    client, server = await connect(settings.temporal, settings.data_dir)
    if server.started:
        console.print(
            f"Started the embedded Temporal dev server at {server.address} (UI {server.ui_url});"
            " it keeps running — stop it with: volt-agent server stop"
        )
    if server.foreign is not None:
        console.print(
            f"[yellow]note:[/] reusing the Temporal dev server on {server.address} that another"
            f" checkout started ({server.foreign.describe()}); its history holds this run",
            highlight=False,
        )
    queue = run_task_queue(params.run_id) if enabled else settings.temporal.task_queue
    async with worker_scope(
        client, settings, secrets, enabled, task_queue=queue, record_dir=record_dir
    ):
        handle = await start_run(client, params, queue)
        console.print(f"Run [cyan]{params.run_id}[/] started · workflow {handle.id}")
        ui_link = f"Temporal UI: {workflow_url(server.ui_url, settings, handle.id)}"
        console.print(ui_link, highlight=False)
        if not follow_progress and not enabled:
            console.print(f"Follow it with: volt-agent show-run {params.run_id} --follow")
            return EXIT_DETACHED
        code = await _watch(handle, params, settings, console, own_queue=enabled)
    console.print(ui_link, highlight=False)
    return code


async def _watch(
    handle: WorkflowHandle[object, object],
    params: PipelineInput,
    settings: Settings,
    console: Console,
    *,
    own_queue: bool,
) -> int:
    try:
        await follow(
            lambda: _safe_progress(handle),
            lambda: _is_closed(handle),
            console,
            closed=handle.result,
        )
    except (Detached, KeyboardInterrupt, asyncio.CancelledError):
        if own_queue:
            console.print(
                f"\nDetached. This process's worker stops now; the run waits on its own task"
                f" queue {run_task_queue(params.run_id)} (no other worker takes it) until you"
                f" re-attach with: volt-agent show-run {params.run_id} --follow"
                f" (Temporal ends it after {params.options.workflow_timeout_seconds} s)",
                highlight=False,
            )
        else:
            console.print(
                "\nDetached. The run is kept by Temporal and continues on the server's workers."
                f" Re-attach with: volt-agent show-run {params.run_id} --follow",
                highlight=False,
            )
        return EXIT_DETACHED
    folder = open_run_folder(settings, params.run_id)
    meta = load_metadata(folder)
    print_summary(console, folder, meta)
    return EXIT_OK if meta is not None and meta.status == "completed" else EXIT_RUN_FAILED


async def _safe_progress(handle: WorkflowHandle[object, object]) -> Progress | None:
    """The run's progress and what it waits for (a quota reset, a delayed retry), or
    ``None`` while it cannot answer (starting up, closing)."""
    try:
        progress = await query_progress(handle)
    except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError):
        return None
    try:
        waiting = waiting_note((await handle.describe()).raw_description)
    except RPCError:
        return progress
    return progress.model_copy(update={"waiting": waiting})


async def _is_closed(handle: WorkflowHandle[object, object]) -> bool:
    description = await handle.describe()
    return description.status not in (None, WorkflowExecutionStatus.RUNNING)


def workflow_url(ui_url: str | None, settings: Settings, workflow_id: str) -> str:
    base = (ui_url or "http://localhost:8233").rstrip("/")
    return f"{base}/namespaces/{settings.temporal.namespace}/workflows/{workflow_id}"


def print_summary(console: Console, folder: RunFolder, meta: RunMetadata | None) -> None:
    if meta is None:
        console.print(f"[red]no run_metadata.json in {folder.location()}[/]")
        return
    style = {"completed": "green", "failed": "red", "cancelled": "yellow"}.get(meta.status, "cyan")
    console.print(f"Run [cyan]{meta.run_id}[/]: [{style}]{meta.status}[/]")
    if meta.error:
        console.print(f"[red]error:[/] {meta.error}", highlight=False)
    for warning in meta.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    aggregation = meta.statistics.get("aggregation", {})
    enrichment = meta.statistics.get("enrichment", {})
    if aggregation:
        table = Table(
            "people",
            "entries",
            "hours",
            "matched entries",
            "entities",
            "found",
            "not found",
            "errors",
        )
        table.add_row(
            str(aggregation.get("users", 0)),
            str(aggregation.get("entries", 0)),
            f"{aggregation.get('total_seconds', 0) / 3600:.2f}",
            str(aggregation.get("matched_entries", 0)),
            str(aggregation.get("entities", 0)),
            str(enrichment.get("found", "—")),
            str(enrichment.get("not_found", "—")),
            str(enrichment.get("error", "—")),
        )
        console.print(table)
    reports = folder.names(REPORTS_DIR)
    main_reports = [name for name in reports if "/" not in name]
    individual = [n for n in reports if n.startswith("individual/") and n.endswith(".md")]
    if main_reports or individual:
        console.print("Reports:")
        for name in main_reports:
            console.print(f"  {folder.location(f'{REPORTS_DIR}/{name}')}", highlight=False)
        if individual:
            console.print(
                f"  {folder.location(INDIVIDUAL_DIR)}/ ({len(individual)} person reports)",
                highlight=False,
            )


async def run_worker(
    settings: Settings, secrets: Secrets, console: Console, *, loop_probe: Path | None = None
) -> None:
    """Poll the task queue until cancelled or SIGTERM (a graceful stop,
    ``pipeline.shutdown``); with ``metrics.enabled``, serve Prometheus metrics. With
    ``loop_probe`` every callback of the event loop is timed and the long ones are written
    to that JSON file (``pipeline.loop_probe``, for the benchmark)."""
    cap_malloc_arenas(settings.worker.malloc_arenas)  # before the worker's threads allocate
    runtime = None
    if settings.metrics.enabled:
        try:
            runtime = metrics_runtime(settings.metrics)
        except ConfigError as exc:  # e.g. a second worker on one host: it still works
            console.print(f"[yellow]warning:[/] {exc}; this worker runs without metrics")
    if notice := egress_notice(settings.llm, secrets.openai_api_key):
        console.print(f"[yellow]note:[/] {notice}", highlight=False)
    client, server = await connect(settings.temporal, settings.data_dir, runtime=runtime)
    from volt_agent.pipeline.worker import (  # noqa: PLC0415 - see worker_scope
        SHARE_HEADROOM,
        api_share,
        build_activities,
        build_api_workers,
        build_worker,
    )

    shared = api_share(settings)
    activities = build_activities(shared, secrets)
    workers = [build_worker(client, shared, activities)]
    workers.extend(build_api_workers(client, settings, activities))
    await asyncio.to_thread(_warm_up)
    # Every module, class and SDK object of the start-up leaves the cyclic garbage collector's
    # scans: a full collection then walks only the runs' data (it holds the GIL in whichever
    # thread triggers it, stalling the event loop: about 120 ms per collection on `team`).
    gc.freeze()
    # A run's data are hundreds of thousands of long-lived objects (entries, models) that are
    # freed by reference counting, not by the collector: with the default threshold (700
    # allocations) it ran ~2,500 times for 37k entries to free almost nothing, 10 % of the
    # worker's CPU. Every 10,000 allocations keeps a young collection at a few ms.
    gc.set_threshold(WORKER_GC_THRESHOLD, *gc.get_threshold()[1:])
    queues = ", ".join(repr(worker.task_queue) for worker in workers)
    console.print(f"Worker polling task queues {queues} at {server.address} (Ctrl-C stops it)")
    if len(workers) > 1:
        api = settings.api_queues
        console.print(
            f"API limits: this worker sends at most {shared.toggl.requests_per_second:g} req/s"
            f" to Toggl and {shared.fibery.requests_per_second:g} req/s to Fibery"
            f" ({SHARE_HEADROOM:.0%} of 1/{api.workers} of each limit:"
            f" api_queues.workers={api.workers})",
            highlight=False,
        )
    if runtime is not None:
        where = f"{settings.metrics.host}:{settings.metrics.port}"
        console.print(f"Metrics: http://{where}/metrics", highlight=False)
    grace = settings.worker.graceful_shutdown_seconds

    def terminating() -> None:
        console.print(
            f"SIGTERM: stopped polling; running activities get up to {grace:g} s to finish"
        )

    try:
        async with probing(loop_probe):
            if await run_until_terminated(workers, terminating):
                console.print("worker stopped")
    finally:
        await activities.aclose()


ASYNC_TRANSPORT_MODULES = ("anyio._backends._asyncio", "anyio.lowlevel", "anyio.streams.tls")
"""What httpcore imports on the first async request (anyio's asyncio backend)."""


def _warm_up() -> None:
    """What every worker pays once, done at start in a thread, not in its first run."""
    from volt_agent.reporting.html import html_environment  # noqa: PLC0415 - worker only
    from volt_agent.reporting.writer import warm_up_templates  # noqa: PLC0415

    _warm_up_http()
    warm_up_templates()
    html_environment().get_template("report.html.j2")


def _warm_up_http() -> None:
    """Import httpx's transports (httpcore, h11, anyio) and read the CA bundle once, in a
    thread: the first API client and request would otherwise do it on the event loop, in the
    first activity (about 100 ms of CPU, over 100 ms of stall on a busy machine)."""
    httpx.Client().close()
    for name in ASYNC_TRANSPORT_MODULES:
        with contextlib.suppress(ImportError):  # another anyio layout: imported on first use
            importlib.import_module(name)


async def show_run(
    settings: Settings,
    secrets: Secrets,
    console: Console,
    run_id: str,
    *,
    follow: bool,
    in_process_worker: bool = True,
) -> int:
    """Print a run; with ``follow``, watch it live (running a worker for it unless told not to)."""
    folder = open_run_folder(settings, validate_run_id(run_id))
    meta = load_metadata(folder)
    if meta is None and not follow:
        console.print(f"[red]no run {run_id} in {folder.storage.location()}[/]")
        return 2
    if follow and (meta is None or meta.status == "in_progress"):
        client, _ = await connect(settings.temporal, settings.data_dir)
        handle = client.get_workflow_handle(workflow_id_for(run_id))
        queue = await _task_queue_of(handle)
        attach = in_process_worker and queue is not None and is_run_task_queue(queue)
        if queue is not None and not attach:
            notice = await _follow_notice(client, run_id, queue, in_process_worker)
            if notice:
                console.print(f"[yellow]note:[/] {notice}", highlight=False)
        async with worker_scope(client, settings, secrets, attach, task_queue=queue or ""):
            try:
                await follow_progress(handle, console)
            except (Detached, KeyboardInterrupt, asyncio.CancelledError):
                console.print("\nDetached; the run is kept by Temporal.")
                return EXIT_DETACHED
        meta = load_metadata(folder)
    print_summary(console, folder, meta)
    if meta is not None and meta.statistics:
        console.print_json(data=meta.statistics)
    return EXIT_OK


async def _task_queue_of(handle: WorkflowHandle[object, object]) -> str | None:
    """The task queue the run was started on (``None``: Temporal does not know the run)."""
    try:
        return (await handle.describe()).task_queue
    except RPCError:
        return None


async def _follow_notice(client: Client, run_id: str, queue: str, in_process_worker: bool) -> str:
    """Why ``show-run --follow`` runs no worker here, and what to do when none polls the run."""
    try:
        polled = await workflow_pollers(client, queue) > 0
    except RPCError:  # Temporal cannot tell: following the run will show what happens
        return ""
    if is_run_task_queue(queue):
        if polled:
            return ""
        return (
            f"run {run_id} waits on its own task queue {queue} and no worker polls it (the"
            " `volt-agent run` that started it is gone): drop --no-worker to run it here"
        )
    where = f"run {run_id} is on the shared task queue {queue}: the long-lived workers run it"
    if not polled:
        return f"{where}, but none polls it now: start one with `volt-agent worker`"
    return f"{where}; this process only follows it" if in_process_worker else ""


async def follow_progress(handle: WorkflowHandle[object, object], console: Console) -> None:
    await follow(
        lambda: _safe_progress(handle), lambda: _is_closed(handle), console, closed=handle.result
    )
