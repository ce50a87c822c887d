"""The run folder: exact file names (ARCHITECTURE §3), run id rules, typed load/save."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from volt_agent.errors import UserInputError
from volt_agent.storage.atomic import StorageError, write_model_atomic, write_text_atomic

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


def validate_run_id(run_id: str) -> str:
    if not RUN_ID_PATTERN.fullmatch(run_id) or ".." in run_id:
        raise UserInputError(
            f"invalid run id {run_id!r}: use 1-100 letters, digits, '_', '.', '-'"
            " starting with a letter or digit"
        )
    return run_id


class RunFolder:
    """Paths and typed I/O of one run. Every write is atomic."""

    def __init__(self, output_dir: Path, run_id: str) -> None:
        self.run_id = validate_run_id(run_id)
        self.output_dir = output_dir
        self.path = output_dir / run_id

    def file(self, name: str) -> Path:
        return self.path / name

    def exists(self, name: str) -> bool:
        return self.file(name).is_file()

    def save(self, name: str, model: BaseModel) -> Path:
        target = self.file(name)
        write_model_atomic(target, model)
        return target

    def save_text(self, name: str, text: str) -> Path:
        target = self.file(name)
        write_text_atomic(target, text)
        return target

    def load(self, name: str, model: type[M]) -> M:
        target = self.file(name)
        try:
            return model.model_validate_json(target.read_bytes())
        except FileNotFoundError:
            raise StorageError(f"{target} does not exist") from None
        except OSError as exc:
            raise StorageError(f"cannot read {target}: {exc.strerror or exc}") from None
        except ValidationError as exc:
            raise StorageError(
                f"{target} is not a valid {model.__name__}: {exc.errors()[0]['msg']}"
            ) from None

    def remove(self, *names: str) -> list[str]:
        """Delete files or folders of a stage's outputs; returns what existed."""
        removed = []
        for name in names:
            target = self.file(name)
            if target.is_dir():
                shutil.rmtree(target)
                removed.append(name)
            elif target.exists():
                target.unlink()
                removed.append(name)
        return removed

    def individual_report(self, user_slug: str) -> str:
        return f"{INDIVIDUAL_DIR}/{user_slug}.md"


_SLUG_DROP = re.compile(r"[^\w\s-]", re.UNICODE)
_SLUG_JOIN = re.compile(r"[\s_-]+")


def user_slug(name: str, user_id: int) -> str:
    """A file-name-safe slug of a person's name; the id keeps namesakes apart."""
    base = _SLUG_JOIN.sub("-", _SLUG_DROP.sub("", name.lower())).strip("-")[:60]
    return f"{base}-{user_id}" if base else f"user-{user_id}"
