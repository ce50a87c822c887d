"""The run folder: exact file names (ARCHITECTURE §3), run id rules, typed load/save on either
storage backend (a local folder or an S3-compatible bucket, ``storage.backends``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TypeVar

from pydantic import BaseModel, ValidationError

from volt_agent.config import Settings
from volt_agent.errors import UserInputError
from volt_agent.storage.atomic import StorageError
from volt_agent.storage.backends import ArtifactStore, LocalStore, check_key, open_storage

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

RUN_METADATA = "run_metadata.json"
RAW_TOGGL = "raw_toggl_data.json"
TOGGL_AGGREGATED = "toggl_aggregated.json"
FIBERY_SCHEMA = "fibery_schema.json"
"""The workspace schema read once per run before any entity query (``sources.fibery_schema``)."""
ENRICHED_DATA = "enriched_data.json"
REPORTS_DIR = "reports"
TOGGL_SUMMARY = "reports/toggl_summary.md"
TEAM_SUMMARY = "reports/team_summary.md"
INDIVIDUAL_DIR = "reports/individual"
ENRICHMENT_PARTS_DIR = "enrichment"
"""Per-batch enrichment results; merged into ``enriched_data.json`` by ``save_enriched_data``."""

M = TypeVar("M", bound=BaseModel)


def new_run_id(now: datetime) -> str:
    """``run_YYYY-MM-DD-HH-MM-SS`` in UTC."""
    return now.astimezone(UTC).strftime("run_%Y-%m-%d-%H-%M-%S")


def is_run_id(name: str) -> bool:
    """Whether ``name`` is a valid run id (a folder of some other kind is not a run)."""
    return bool(RUN_ID_PATTERN.fullmatch(name)) and ".." not in name


def validate_run_id(run_id: str) -> str:
    if not is_run_id(run_id):
        raise UserInputError(
            f"invalid run id {run_id!r}: use 1-100 letters, digits, '_', '.', '-'"
            " starting with a letter or digit"
        )
    return run_id


class RunFolder:
    """Files and typed I/O of one run in its storage (``storage.backends``). Every write is
    all-or-nothing; ``name`` is a path inside the run folder such as ``reports/x.md``."""

    def __init__(self, storage: ArtifactStore | Path, run_id: str) -> None:
        """``storage``: a backend, or a local ``output_dir`` (``LocalStore``)."""
        self.run_id = validate_run_id(run_id)
        self.storage: ArtifactStore = LocalStore(storage) if isinstance(storage, Path) else storage

    @property
    def path(self) -> Path:
        """The folder on this machine; only the local backend has one (e.g. to print it)."""
        if not isinstance(self.storage, LocalStore):
            raise StorageError(f"{self.location()} is not on this machine's disk")
        return self.storage.path(self.run_id)

    def file(self, name: str) -> Path:
        """A file's local path (local backend only); use the methods below to read/write."""
        return self.path / check_key(name)

    def location(self, name: str = "") -> str:
        """Where the folder (or ``name`` in it) is, for messages: a path or an ``s3://`` URL."""
        return self.storage.location(self._key(name) if name else self.run_id)

    def exists(self, name: str) -> bool:
        return self.storage.exists(self._key(name))

    def present(self) -> bool:
        """The run folder exists (locally even when empty; in a bucket with any file)."""
        return self.storage.has_folder(self.run_id)

    def save(self, name: str, model: BaseModel) -> str:
        """Write ``model`` as indented JSON; returns the file's location."""
        return self.save_bytes(name, (model.model_dump_json(indent=2) + "\n").encode("utf-8"))

    def save_text(self, name: str, text: str) -> str:
        return self.save_bytes(name, text.encode("utf-8"))

    def save_bytes(self, name: str, data: bytes) -> str:
        key = self._key(name)
        self.storage.write(key, data)
        return self.storage.location(key)

    def save_stream(self, name: str, chunks: Iterable[bytes]) -> str:
        """Write the concatenation of ``chunks`` without holding the whole file in memory,
        all-or-nothing like ``save_bytes``; returns the file's location."""
        key = self._key(name)
        self.storage.write_stream(key, chunks)
        return self.storage.location(key)

    def open_read(self, name: str) -> IO[bytes]:
        """The file as a binary stream (close it); ``ArtifactNotFoundError`` when none."""
        return self.storage.open_read(self._key(name))

    def read_bytes(self, name: str) -> bytes:
        """The file's bytes; ``ArtifactNotFoundError`` when there is none."""
        return self.storage.read(self._key(name))

    def load(self, name: str, model: type[M]) -> M:
        data = self.read_bytes(name)
        try:
            return model.model_validate_json(data)
        except ValidationError as exc:
            raise StorageError(
                f"{self.location(name)} is not a valid {model.__name__}: {exc.errors()[0]['msg']}"
            ) from None

    def names(self, prefix: str = "") -> list[str]:
        """Files under the folder ``prefix`` (the whole run when empty), relative to it,
        sorted; temp files of unfinished local writes are left out."""
        return self.storage.files(self._key(prefix) if prefix else self.run_id)

    def remove(self, *names: str) -> list[str]:
        """Delete files or folders of a stage's outputs; returns what existed."""
        return [name for name in names if self.storage.delete(self._key(name))]

    def sweep_orphans(self) -> list[str]:
        """Delete the temp files that writers killed mid-write left in the folder (the
        complete files are untouched); returns their names."""
        return self.storage.sweep_orphans(self.run_id)

    def individual_report(self, user_slug: str) -> str:
        return f"{INDIVIDUAL_DIR}/{user_slug}.md"

    def _key(self, name: str) -> str:
        return f"{self.run_id}/{check_key(name)}"


def open_run_folder(settings: Settings, run_id: str) -> RunFolder:
    """The run's folder in the storage ``settings`` name (``storage_url`` or ``output_dir``)."""
    return RunFolder(open_storage(settings), run_id)


_SLUG_DROP = re.compile(r"[^\w\s-]", re.UNICODE)
_SLUG_JOIN = re.compile(r"[\s_-]+")


def user_slug(name: str, user_id: int) -> str:
    """A file-name-safe slug of a person's name; the id keeps namesakes apart."""
    base = _SLUG_JOIN.sub("-", _SLUG_DROP.sub("", name.lower())).strip("-")[:60]
    return f"{base}-{user_id}" if base else f"user-{user_id}"
