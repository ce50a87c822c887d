"""Run management shared by the CLI and the HTTP API: list, describe, cancel, read reports.

The run folders, in a local folder or a bucket (``storage.backends``), are the record
(``run_metadata.json``); Temporal is the authority on
whether a run is still going. When Temporal answers, each run's status is reconciled with
its workflow: a folder that still says ``in_progress`` for a workflow that was terminated,
timed out or failed before it could write shows what really happened. When Temporal does
not answer, folders are listed as they are, marked ``reconciled: false``.
"""

from __future__ import annotations

import asyncio
import mimetypes
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, Field
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.service import RPCError, RPCStatusCode

from volt_agent.config import Settings
from volt_agent.errors import UserInputError
from volt_agent.pipeline.service import workflow_id_for
from volt_agent.pipeline.types import Progress, RunStatus
from volt_agent.storage.atomic import StorageError
from volt_agent.storage.backends import ArtifactStore, LocalStore, check_key, open_storage
from volt_agent.storage.run_folder import (
    REPORTS_DIR,
    RUN_METADATA,
    RunFolder,
    is_run_id,
    validate_run_id,
)
from volt_agent.storage.run_metadata import RunMetadata, load_metadata

RUN_STATUSES: tuple[RunStatus, ...] = ("in_progress", "completed", "failed", "cancelled")
DESCRIBE_CONCURRENCY = 16
READ_CONCURRENCY = 16
RPC_TIMEOUT = timedelta(seconds=5)
QUERY_TIMEOUT = timedelta(seconds=1)
"""A query waits for a worker; a run nobody works on must not hang the caller."""
UNTOUCHED_HISTORY = 2

_TEMPORAL_STATUS: dict[WorkflowExecutionStatus, RunStatus] = {
    WorkflowExecutionStatus.RUNNING: "in_progress",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "in_progress",
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.TIMED_OUT: "failed",
    WorkflowExecutionStatus.TERMINATED: "failed",
    WorkflowExecutionStatus.CANCELED: "cancelled",
}


class RunNotFoundError(UserInputError):
    """No run folder (and no workflow) of that id."""


class RunNotRunningError(UserInputError):
    """The run exists but has already ended."""


class RunSummary(BaseModel):
    """One row of ``list-runs`` / ``GET /runs``."""

    run_id: str
    status: RunStatus
    folder_status: RunStatus | None = None
    """What ``run_metadata.json`` says, when it differs from ``status`` or Temporal is silent."""
    temporal_status: str | None = None
    """The workflow's status (``RUNNING``, ``TERMINATED``, ``NOT_FOUND``, …) when asked."""
    reconciled: bool = False
    workflow_id: str
    created_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    stages_completed: list[str] = Field(default_factory=list)
    stages_failed: list[str] = Field(default_factory=list)
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)


class RunDetail(RunSummary):
    """``show-run`` / ``GET /runs/{run_id}``: the summary plus statistics, reports, progress."""

    statistics: dict[str, Any] = Field(default_factory=dict)
    reports: list[str] = Field(default_factory=list)
    """Paths relative to the run's ``reports/`` folder, as ``GET …/reports/{path}`` takes them."""
    progress: Progress | None = None


def _summary(run_id: str, meta: RunMetadata | None) -> RunSummary:
    if meta is None:
        return RunSummary(run_id=run_id, status="in_progress", workflow_id=workflow_id_for(run_id))
    end = meta.finished_at
    return RunSummary(
        run_id=meta.run_id,
        status=meta.status,
        workflow_id=meta.workflow_id,
        created_at=meta.created_at,
        finished_at=end,
        duration_seconds=round((end - meta.created_at).total_seconds(), 1) if end else None,
        parameters=meta.parameters,
        stages_completed=meta.stages_completed,
        stages_failed=meta.stages_failed,
        error=meta.error,
        warnings=meta.warnings,
    )


def _read(storage: ArtifactStore, run_id: str) -> RunMetadata | None:
    try:
        return load_metadata(RunFolder(storage, run_id))
    except StorageError:
        return None  # unreadable or half-migrated metadata: listed without details


def run_ids(settings: Settings) -> list[str]:
    """Ids of the run folders in the storage (folders with ``run_metadata.json``)."""
    return _run_ids(open_storage(settings))


def _run_ids(storage: ArtifactStore) -> list[str]:
    return [
        name
        for name in storage.folders()
        if is_run_id(name) and storage.exists(f"{name}/{RUN_METADATA}")
    ]


def _all_summaries(settings: Settings) -> list[RunSummary]:
    """A summary of every run folder with metadata: one listing, then one read per run,
    ``READ_CONCURRENCY`` at a time (a bucket answers each in a round trip)."""
    storage = open_storage(settings)
    names = [name for name in storage.folders() if is_run_id(name)]

    def one(run_id: str) -> RunSummary | None:
        try:
            meta = load_metadata(RunFolder(storage, run_id))
        except StorageError:
            return _summary(run_id, None)  # unreadable or half-migrated: listed without details
        return None if meta is None else _summary(run_id, meta)

    with ThreadPoolExecutor(READ_CONCURRENCY) as pool:
        return [s for s in pool.map(one, names) if s is not None]


async def reconcile(client: Client | None, summary: RunSummary) -> RunSummary:
    """``summary`` with Temporal's view of its workflow applied (unchanged without a client)."""
    if client is None:
        return summary
    try:
        handle = client.get_workflow_handle(summary.workflow_id)
        description = await handle.describe(rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            return summary
        # The server forgot it (retention, a new dev-server database): the folder is all
        # there is. An in-progress folder without a workflow can never finish.
        update: dict[str, Any] = {"temporal_status": "NOT_FOUND", "reconciled": True}
        if summary.status == "in_progress":
            update |= {
                "status": "failed",
                "folder_status": "in_progress",
                "error": summary.error or "the workflow no longer exists on the Temporal server",
            }
        return summary.model_copy(update=update)
    temporal = description.status
    update = {"temporal_status": temporal.name if temporal else None, "reconciled": True}
    real = _TEMPORAL_STATUS.get(temporal) if temporal else None
    if real is not None and real != summary.status:
        update |= {"status": real, "folder_status": summary.status}
        if real == "failed" and not summary.error and temporal is not None:
            update["error"] = f"workflow {temporal.name.lower().replace('_', ' ')}"
        if real != "in_progress" and summary.finished_at is None and description.close_time:
            update["finished_at"] = description.close_time
            if summary.created_at is not None:
                seconds = (description.close_time - summary.created_at).total_seconds()
                update["duration_seconds"] = round(seconds, 1)
    return summary.model_copy(update=update)


async def list_runs(
    settings: Settings,
    client: Client | None,
    *,
    limit: int = 20,
    status: RunStatus | None = None,
) -> list[RunSummary]:
    """The newest ``limit`` runs (by creation time), optionally only those with ``status``.

    Temporal is asked about a run only when it could be shown, so a large output folder
    costs one describe per shown run, at most ``DESCRIBE_CONCURRENCY`` at a time.
    """
    if limit < 1:
        raise UserInputError("--limit must be at least 1")
    summaries = await asyncio.to_thread(_all_summaries, settings)
    summaries.sort(key=lambda s: (s.created_at is not None, s.created_at, s.run_id), reverse=True)
    shown: list[RunSummary] = []
    for start in range(0, len(summaries), DESCRIBE_CONCURRENCY):
        chunk = summaries[start : start + DESCRIBE_CONCURRENCY]
        for summary in await asyncio.gather(*(reconcile(client, s) for s in chunk)):
            if status is None or summary.status == status:
                shown.append(summary)
        if len(shown) >= limit:
            break
    return shown[:limit]


def report_paths(folder: RunFolder) -> list[str]:
    """Report files of a run, relative to its ``reports/`` folder, sorted."""
    return folder.names(REPORTS_DIR)


def _stored(settings: Settings, run_id: str) -> tuple[RunFolder, RunMetadata | None, list[str]]:
    storage = open_storage(settings)
    folder = RunFolder(storage, run_id)
    return folder, _read(storage, run_id), report_paths(folder)


async def get_run(settings: Settings, client: Client | None, run_id: str) -> RunDetail:
    """Everything known about one run; ``RunNotFoundError`` when there is nothing at all."""
    folder, meta, reports = await asyncio.to_thread(_stored, settings, _valid_or_not_found(run_id))
    summary = await reconcile(client, _summary(run_id, meta))
    if meta is None and summary.temporal_status in (None, "NOT_FOUND"):
        raise RunNotFoundError(f"no run {run_id} in {folder.storage.location()}")
    progress = None
    if client is not None and summary.temporal_status == "RUNNING":
        progress = await _progress(client, summary.workflow_id)
    return RunDetail(
        **summary.model_dump(),
        statistics=meta.statistics if meta else {},
        reports=reports,
        progress=progress,
    )


async def _progress(client: Client, workflow_id: str) -> Progress | None:
    """Live progress, or ``None`` when the run cannot answer now.

    A query waits for a worker, so a run no worker has picked up yet (its history is still
    just "started" + "task scheduled") is not asked, and any query is bounded in time.
    """
    handle = client.get_workflow_handle(workflow_id)
    try:
        if (await handle.describe(rpc_timeout=RPC_TIMEOUT)).history_length <= UNTOUCHED_HISTORY:
            return None
        result: Progress = await handle.query(
            "get_progress", result_type=Progress, rpc_timeout=QUERY_TIMEOUT
        )
    except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError):
        return None
    return result


async def cancel_run(settings: Settings, client: Client, run_id: str) -> RunSummary:
    """Ask Temporal to cancel a running run; the workflow records ``cancelled`` itself."""
    _valid_or_not_found(run_id)
    meta = await asyncio.to_thread(_read, open_storage(settings), run_id)
    summary = await reconcile(client, _summary(run_id, meta))
    if summary.temporal_status in (None, "NOT_FOUND"):
        raise RunNotFoundError(f"no workflow for run {run_id} on the Temporal server")
    if summary.temporal_status != WorkflowExecutionStatus.RUNNING.name:
        raise RunNotRunningError(f"run {run_id} is not running (it is {summary.status})")
    await client.get_workflow_handle(summary.workflow_id).cancel()
    return summary


class Report(BaseModel):
    """A report file's bytes and the media type to serve them with."""

    content: bytes
    media_type: str


def read_report(settings: Settings, run_id: str, path: str) -> Report:
    """The file ``path`` under the run's ``reports/`` folder, or ``RunNotFoundError``.

    Refuses anything that resolves outside that folder — ``..``, absolute paths, symlinks
    pointing out — and anything that is not a regular file (or object), all with the same
    error, so a probe cannot tell "outside" from "missing". Blocking: call it in a thread.
    """
    folder = RunFolder(open_storage(settings), _valid_or_not_found(run_id))
    missing = RunNotFoundError(f"no report {path!r} in run {run_id}")
    if not path or "\x00" in path or "\\" in path or Path(path).is_absolute():
        raise missing
    try:
        if isinstance(folder.storage, LocalStore):
            content = _local_report(folder.path / REPORTS_DIR, path).read_bytes()
        else:
            content = folder.read_bytes(f"{REPORTS_DIR}/{check_key(path)}")
    except (StorageError, OSError):
        raise missing from None
    return Report(content=content, media_type=_media_type(path))


def _local_report(reports: Path, path: str) -> Path:
    """The resolved file, checked to be a regular file inside ``reports``."""
    root = reports.resolve()
    try:
        target = (root / path).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise FileNotFoundError(path)
    except (RuntimeError, ValueError):  # symlink loops, odd bytes
        raise FileNotFoundError(path) from None
    return target


def _media_type(path: str) -> str:
    suffix = PurePosixPath(path).suffix
    if suffix == ".md":
        return "text/markdown; charset=utf-8"
    if suffix == ".html":
        return "text/html; charset=utf-8"
    guessed, _ = mimetypes.guess_type(path)
    return guessed or "application/octet-stream"


def _valid_or_not_found(run_id: str) -> str:
    try:
        return validate_run_id(run_id)
    except UserInputError:
        raise RunNotFoundError(f"no run {run_id!r}: not a valid run id") from None
