"""``run_metadata.json``: the run's status as of its last recorded step.

Written at start, after each stage, on failure and on cancellation (by the workflow through
the ``record_run_status`` activity), so a crashed or cancelled run still says what happened.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from volt_agent import __version__
from volt_agent.domain.models import SCHEMA_VERSION, Model
from volt_agent.pipeline.types import RunStatus, RunStatusUpdate
from volt_agent.storage.atomic import ArtifactNotFoundError
from volt_agent.storage.run_folder import RUN_METADATA, RunFolder

TERMINAL_STATUSES: frozenset[RunStatus] = frozenset({"completed", "failed", "cancelled"})


class RunMetadata(Model):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    workflow_id: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    status: RunStatus
    pipeline_version: str = __version__
    parameters: dict[str, Any] = Field(default_factory=dict)
    temporal_metadata: dict[str, str] = Field(default_factory=dict)
    stages_completed: list[str] = Field(default_factory=list)
    stages_failed: list[str] = Field(default_factory=list)
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)
    statistics: dict[str, Any] = Field(default_factory=dict)


def apply_update(current: RunMetadata | None, update: RunStatusUpdate) -> RunMetadata:
    """The metadata after ``update``; pure, so it is tested without a workflow."""
    at = datetime.fromisoformat(update.at)
    if current is None or update.starting:
        kept = _stages_kept_by_rerun(current, update)
        current = RunMetadata(
            run_id=update.run.run_id,
            workflow_id=update.workflow_id,
            created_at=current.created_at if current is not None else at,
            updated_at=at,
            status=update.status,
            stages_completed=kept,
            statistics=dict(current.statistics) if current is not None and kept else {},
        )
    meta = current.model_copy(deep=True)
    meta.status = update.status
    meta.updated_at = at
    if update.parameters:
        meta.parameters = dict(update.parameters)
    if update.temporal:
        meta.temporal_metadata = dict(update.temporal)
    if update.stage_completed and update.stage_completed not in meta.stages_completed:
        meta.stages_completed.append(update.stage_completed)
    if update.stage_failed and update.stage_failed not in meta.stages_failed:
        meta.stages_failed.append(update.stage_failed)
    if update.error is not None:
        meta.error = update.error
    if update.statistics:
        meta.statistics = {**meta.statistics, **update.statistics}
    if update.warnings:
        meta.warnings = list(update.warnings)
    meta.finished_at = at if update.status in TERMINAL_STATUSES else None
    return meta


def _stages_kept_by_rerun(current: RunMetadata | None, update: RunStatusUpdate) -> list[str]:
    """A re-run from the Fibery stage keeps the Toggl stage it builds on; anything else restarts."""
    if current is None or update.parameters.get("start_from") != "fibery":
        return []
    return [s for s in current.stages_completed if s == "toggl"]


def load_metadata(folder: RunFolder) -> RunMetadata | None:
    """The run's metadata, ``None`` when it has none (one read, also in a bucket)."""
    try:
        return folder.load(RUN_METADATA, RunMetadata)
    except ArtifactNotFoundError:
        return None


def record(folder: RunFolder, update: RunStatusUpdate) -> RunMetadata:
    meta = apply_update(load_metadata(folder), update)
    folder.save(RUN_METADATA, meta)
    return meta
