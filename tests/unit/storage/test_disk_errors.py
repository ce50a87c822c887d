"""A full disk or a folder that cannot be written: one clear error, never a torn JSON file.

Root ignores permissions and no tiny filesystem is available here, so the disk-full cases
make the OS calls of the atomic writer fail with ``ENOSPC`` at each step (write, fsync,
rename); the unwritable folder is a file standing where a folder must be, which stops root
too.
"""

from __future__ import annotations

import errno
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from volt_agent.storage import atomic
from volt_agent.storage.atomic import StorageError, write_text_atomic
from volt_agent.storage.run_folder import RunFolder

OLD = '{"entities": ["old"]}\n'
NEW = json.dumps({"entities": ["new"] * 1000})


def disk_full(*args: Any, **kwargs: Any) -> Any:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class FullDiskFile(io.BufferedWriter):
    """A file whose writes fail half-way, as on a full disk."""

    def write(self, data: Any) -> int:
        super().write(bytes(data)[: len(data) // 2])
        disk_full()
        return 0


def fail_at(step: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if step == "write":
        real_fdopen = os.fdopen

        def fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            raw = real_fdopen(fd, mode, *args, buffering=0, **kwargs)
            return FullDiskFile(raw)

        monkeypatch.setattr(atomic.os, "fdopen", fdopen)
    elif step == "fsync":
        monkeypatch.setattr(atomic.os, "fsync", disk_full)
    else:
        monkeypatch.setattr(atomic.os, "replace", disk_full)


@pytest.mark.parametrize("step", ["write", "fsync", "replace"])
def test_disk_full_keeps_the_previous_file_whole_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    target = tmp_path / "enriched_data.json"
    write_text_atomic(target, OLD)
    fail_at(step, monkeypatch)
    with pytest.raises(StorageError) as caught:
        write_text_atomic(target, NEW)
    message = str(caught.value)
    assert message == f"cannot write {target}: No space left on device"
    assert caught.value.__cause__ is None  # a workflow reports the root cause: this message
    assert json.loads(target.read_text()) == {"entities": ["old"]}
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_disk_full_on_a_first_write_leaves_no_file_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = RunFolder(tmp_path, "r1")
    fail_at("fsync", monkeypatch)
    with pytest.raises(StorageError, match="No space left on device"):
        folder.save_text("raw_toggl_data.json", NEW)
    assert list(folder.path.iterdir()) == []


def test_a_file_where_the_run_folder_should_be_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "r1").write_text("not a folder")
    folder = RunFolder(tmp_path, "r1")
    with pytest.raises(StorageError) as caught:
        folder.save_text("reports/team_summary.md", "# Team")
    assert str(caught.value).startswith(f"cannot write {tmp_path / 'r1' / 'reports'}")
    assert (tmp_path / "r1").read_text() == "not a folder"
