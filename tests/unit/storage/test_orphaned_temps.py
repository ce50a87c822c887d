"""Temp files of writers killed mid-write (CI at stop 17: a worker SIGKILLed while it wrote an
enrichment batch left ``.Scrum_Chore-00000.json.….tmp`` in a completed run's folder)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from volt_agent.config import Secrets, Settings
from volt_agent.pipeline.activities import PipelineActivities
from volt_agent.pipeline.types import RunRef, RunStatusUpdate
from volt_agent.reporting.writer import TemplateReportWriter
from volt_agent.storage.atomic import orphaned_temp_files, temp_prefix, write_chunks_atomic
from volt_agent.storage.backends import BucketStore, LocalStore
from volt_agent.storage.run_folder import RunFolder


def dead_pid() -> int:
    """The pid of a process that has ended and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def temp_of(target: Path, pid: int, host: str | None = None) -> Path:
    """A temp file of ``target`` as process ``pid`` of ``host`` (default: this host) names it."""
    this_host = temp_prefix(target).removeprefix(f".{target.name}.").split("~")[0]
    path = target.parent / f".{target.name}.{host or this_host}~{pid}.abc123xy.tmp"
    target.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("half")
    return path


def test_a_write_under_way_names_this_process_and_is_no_orphan(tmp_path: Path) -> None:
    target = tmp_path / "enrichment" / "Scrum_Task-00000.json"
    seen: list[list[Path]] = []

    def chunks() -> Iterator[bytes]:
        yield b"{"
        seen.append(sorted(target.parent.glob(".*.tmp")))
        assert orphaned_temp_files(tmp_path) == []
        yield b"}"

    write_chunks_atomic(target, chunks())
    assert target.read_bytes() == b"{}"
    [[temp]] = seen
    assert temp.name.startswith(temp_prefix(target))
    assert "~" in temp.name


def test_only_a_gone_writer_of_this_host_leaves_orphans(tmp_path: Path) -> None:
    target = tmp_path / "enrichment" / "Scrum_Task-00000.json"
    gone = temp_of(target, dead_pid())
    alive = temp_of(target, os.getpid())
    elsewhere = temp_of(target, dead_pid(), host="another-machine")
    legacy = target.parent / ".Scrum_Task-00000.json.k2j3h4g5.tmp"  # before names had an owner
    legacy.write_text("half")
    complete = tmp_path / "run_metadata.json"
    complete.write_text("{}")
    assert orphaned_temp_files(tmp_path) == [gone]
    assert alive.exists()
    assert elsewhere.exists()
    assert orphaned_temp_files(tmp_path / "missing") == []


def test_a_killed_writer_not_yet_reaped_is_gone(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    stat = Path(f"/proc/{proc.pid}/stat")
    deadline = time.monotonic() + 10
    while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)
    try:
        zombie = temp_of(tmp_path / "a.json", proc.pid)
        assert orphaned_temp_files(tmp_path) == [zombie]
    finally:
        proc.wait()


def test_the_local_store_sweeps_orphans_and_keeps_everything_else(tmp_path: Path) -> None:
    folder = RunFolder(LocalStore(tmp_path), "run-1")
    folder.save_text("enrichment/Scrum_Task-00000.json", "{}")
    gone = temp_of(folder.file("enrichment/Scrum_Task-00001.json"), dead_pid())
    alive = temp_of(folder.file("reports/team.md"), os.getpid())
    assert folder.sweep_orphans() == [f"enrichment/{gone.name}"]
    assert not gone.exists()
    assert alive.exists()
    assert folder.names() == ["enrichment/Scrum_Task-00000.json"]
    assert folder.sweep_orphans() == []


def test_an_orphan_that_cannot_be_deleted_is_left_without_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = RunFolder(LocalStore(tmp_path), "run-1")
    stuck = temp_of(folder.file("enrichment/a.json"), dead_pid())
    gone = temp_of(folder.file("enrichment/b.json"), dead_pid())
    unlink = Path.unlink

    def refusing(path: Path, missing_ok: bool = False) -> None:
        if path == stuck:
            raise PermissionError(13, "Permission denied")
        unlink(path, missing_ok)

    monkeypatch.setattr(Path, "unlink", refusing)
    assert folder.sweep_orphans() == [f"enrichment/{gone.name}"]
    assert stuck.exists()


def test_a_bucket_has_nothing_to_sweep() -> None:
    store = BucketStore("s3://bucket/runs", {"AWS_REGION": "eu-central-1"})
    assert store.sweep_orphans("run-1") == []


def status(run: RunRef, value: str) -> RunStatusUpdate:
    return RunStatusUpdate(
        run=run,
        workflow_id="volt-agent-run-1",
        status=value,  # type: ignore[arg-type]
        at=datetime(2026, 12, 1, 7, tzinfo=UTC).isoformat(),
    )


@pytest.mark.parametrize(("value", "swept"), [("in_progress", False), ("completed", True)])
async def test_a_finished_run_sweeps_its_folder(tmp_path: Path, value: str, swept: bool) -> None:
    activities = PipelineActivities(
        Settings().model_copy(update={"output_dir": tmp_path}), Secrets(), TemplateReportWriter()
    )
    run = RunRef(output_dir=tmp_path, run_id="run-1")
    orphan = temp_of(tmp_path / "run-1" / "enrichment" / "Scrum_Task-00000.json", dead_pid())
    await ActivityEnvironment().run(activities.record_run_status, status(run, value))
    assert (tmp_path / "run-1" / "run_metadata.json").exists()
    assert orphan.exists() is not swept
