"""Atomic file writes: a temp file in the same folder, fsync, then ``os.replace``.

A reader sees either the previous complete file or the new complete file, never a torn
one; a failed write (disk full, read-only folder) leaves no temp file behind. A process
killed mid-write (SIGKILL, OOM, power) cannot clean up: its temp file names its owner
(``.{name}.{host}~{pid}.{random}.tmp``) so that ``orphaned_temp_files`` can tell it from a
write still under way.

``StorageError`` messages name the file and the OS reason and are raised without the OS
error as their cause: a workflow reports the root cause of a failure, and that must be
"cannot write …/enriched_data.json: No space left on device", not a bare errno line.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel

from volt_agent.errors import VoltAgentError
from volt_agent.processes import process_alive


class StorageError(VoltAgentError):
    """A run-folder file could not be written or read, and trying again cannot help."""


class ArtifactNotFoundError(StorageError):
    """The run-folder file does not exist."""


class StorageUnavailableError(VoltAgentError):
    """The storage did not answer (a bucket's network or 5xx): worth trying again later.

    Not a ``StorageError``: activities leave it to the retry policy.
    """


TEMP_SUFFIX = ".tmp"
_TEMP_NAME = re.compile(r"^\..+\.(?P<host>[A-Za-z0-9-]+)~(?P<pid>\d+)\.[^.]+\.tmp$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "localhost"


def temp_prefix(path: Path) -> str:
    """The start of ``path``'s temp file name: hidden, named after it and this process."""
    return f".{path.name}.{_host()}~{os.getpid()}."


def orphaned_temp_files(folder: Path) -> list[Path]:
    """Temp files under ``folder`` left by a process of this host that is gone (killed
    mid-write). A live writer's file, another host's (a shared disk: its process cannot be
    checked from here) and any other file are not orphans."""
    if not folder.is_dir():
        return []
    host = _host()
    orphans = []
    for path in folder.rglob(f".*{TEMP_SUFFIX}"):
        match = _TEMP_NAME.match(path.name)
        if match and match["host"] == host and not process_alive(int(match["pid"])):
            orphans.append(path)
    return sorted(orphans)


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    write_chunks_atomic(path, (data,))


def write_chunks_atomic(path: Path, chunks: Iterable[bytes]) -> None:
    """Write the concatenation of ``chunks`` atomically, one chunk at a time (the whole file is
    never in memory). If ``chunks`` raises, its error propagates and the previous file (or
    none) is left as it was, with no temp file behind."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=temp_prefix(path), suffix=TEMP_SUFFIX, dir=path.parent
        )
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_model_atomic(path: Path, model: BaseModel) -> None:
    write_text_atomic(path, model.model_dump_json(indent=2) + "\n")
