"""Finding the run a report compares with, through the storage interface."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from volt_agent.storage.backends import LocalStore
from volt_agent.storage.previous_run import find_previous_run, previous_period
from volt_agent.storage.run_folder import RAW_TOGGL, RUN_METADATA, RunFolder

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def add_run(
    store: LocalStore,
    run_id: str,
    *,
    start: str = "2026-11-16",
    end: str = "2026-11-22",
    status: str = "completed",
    users: Any = None,
    workspace: int = 7,
    minutes: int = 0,
) -> None:
    folder = RunFolder(store, run_id)
    at = (T0 + timedelta(minutes=minutes)).isoformat()
    meta = {
        "run_id": run_id,
        "workflow_id": f"wf-{run_id}",
        "created_at": at,
        "updated_at": at,
        "status": status,
        "parameters": {"start_date": start, "end_date": end, "users": users},
    }
    folder.save_text(RUN_METADATA, json.dumps(meta))
    folder.save_text(RAW_TOGGL, json.dumps({"workspace_id": workspace, "entries": []}))


def find(store: LocalStore, users: Any = None, workspace: int | None = 7) -> tuple[str | None, str]:
    folder, reason = find_previous_run(
        store,
        "run_now",
        start=date(2026, 11, 23),
        end=date(2026, 11, 29),
        users=users,
        workspace_id=workspace,
    )
    return (folder.run_id if folder else None), reason


def test_previous_period_has_the_same_length() -> None:
    assert previous_period(date(2026, 11, 23), date(2026, 11, 29)) == (
        date(2026, 11, 16),
        date(2026, 11, 22),
    )
    assert previous_period(date(2026, 11, 20), date(2026, 11, 23)) == (
        date(2026, 11, 16),
        date(2026, 11, 19),
    )


def test_most_recent_completed_run_of_the_same_scope(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    add_run(store, "run_old", minutes=1)
    add_run(store, "run_new", minutes=5)
    add_run(store, "run_failed", status="failed", minutes=9)
    add_run(store, "run_other_users", users=["Anna"], minutes=9)
    add_run(store, "run_other_range", start="2026-11-15", minutes=9)
    add_run(store, "run_other_workspace", workspace=8, minutes=9)
    add_run(store, "run_now", start="2026-11-23", end="2026-11-29", status="in_progress")
    assert find(store) == ("run_new", "")
    assert find(store, users=["Anna"]) == ("run_other_users", "")


def test_no_match_says_why(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    add_run(store, "run_failed", status="failed")
    folder, reason = find(store)
    assert folder is None
    assert reason == (
        "no completed run covers the previous period (2026-11-16 to 2026-11-22) with the same users"
    )
    add_run(store, "run_elsewhere", workspace=9)
    assert find(store) == (
        None,
        "the runs covering 2026-11-16 to 2026-11-22 read a different Toggl workspace",
    )
