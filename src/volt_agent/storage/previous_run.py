"""The earlier completed run a report compares with, found through the storage interface
(a local folder or a bucket): the most recent ``completed`` run whose range is the period just
before this one, of the same length, with the same users filter and Toggl workspace."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from volt_agent.storage.atomic import StorageError
from volt_agent.storage.backends import ArtifactStore
from volt_agent.storage.json_stream import read_members
from volt_agent.storage.run_folder import RAW_TOGGL, RUN_METADATA, RunFolder, is_run_id
from volt_agent.storage.run_metadata import RunMetadata, load_metadata


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length that ends the day before ``start``."""
    length = end - start
    previous_end = start - timedelta(days=1)
    return previous_end - length, previous_end


def find_previous_run(
    storage: ArtifactStore,
    run_id: str,
    *,
    start: date,
    end: date,
    users: Any,
    workspace_id: int | None,
) -> tuple[RunFolder | None, str]:
    """The earlier run's folder, or ``None`` and the reason there is none."""
    want_start, want_end = previous_period(start, end)
    candidates: list[RunMetadata] = []
    for name in storage.folders():
        if name == run_id or not is_run_id(name) or not storage.exists(f"{name}/{RUN_METADATA}"):
            continue
        try:
            meta = load_metadata(RunFolder(storage, name))
        except StorageError:
            continue
        if meta is not None and _covers(meta, want_start, want_end, users):
            candidates.append(meta)
    period = f"{want_start} to {want_end}"
    if not candidates:
        return None, f"no completed run covers the previous period ({period}) with the same users"
    for meta in sorted(candidates, key=lambda m: m.created_at, reverse=True):
        folder = RunFolder(storage, meta.run_id)
        if workspace_id is None or run_workspace(folder) == workspace_id:
            return folder, ""
    return None, f"the runs covering {period} read a different Toggl workspace"


def _covers(meta: RunMetadata, start: date, end: date, users: Any) -> bool:
    params = meta.parameters
    return (
        meta.status == "completed"
        and params.get("start_date") == start.isoformat()
        and params.get("end_date") == end.isoformat()
        and params.get("users") == users
    )


def run_workspace(folder: RunFolder) -> int | None:
    """The Toggl workspace id in the run's ``raw_toggl_data.json`` (``None`` when unreadable),
    read from the file's head: the entries after it are never loaded."""
    try:
        with folder.open_read(RAW_TOGGL) as stream:
            value = read_members(stream, {"workspace_id"}).get("workspace_id")
    except (StorageError, ValueError):
        return None
    return value if isinstance(value, int) else None
