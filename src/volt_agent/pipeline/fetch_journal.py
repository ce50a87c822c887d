"""The Toggl fetch's journal: pages stored as they arrive, so a retried fetch resumes.

``fetch_toggl_data`` appends each page as one JSON line and then heartbeats a
``FetchCheckpoint`` (the cursor after that page and how many pages are stored). A retried
attempt reads the checkpoint from its heartbeat details, cuts the journal back to that many
complete lines (dropping a page written after the last heartbeat, or torn by a crash) and
continues from the cursor. A journal that lost pages the checkpoint counts cannot be resumed:
the fetch then starts over. So does a fetch whose totals disagreed (``restart``); its
checkpoint carries the number of such disagreements to the next attempt.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, ValidationError

from volt_agent.domain.models import FetchStatistics, TimeEntry
from volt_agent.sources.pagination import PageCursor
from volt_agent.sources.toggl_rows import TimeEntryPage, add_statistics

JOURNAL_FILE = "raw_toggl_data.partial.jsonl"


class FetchCheckpoint(BaseModel):
    """Heartbeat details of ``fetch_toggl_data``: how far the stored pages reach."""

    model_config = ConfigDict(extra="forbid")

    cursor: PageCursor | None
    """Where the next page starts; ``None`` once the last page is stored."""
    pages: int
    requests: int = 0
    """Toggl requests made by all attempts so far."""
    restart: bool = False
    """The previous attempt discarded its pages (its totals disagreed): start from page one."""
    mismatches: int = 0
    """Fetches of this run whose totals disagreed with the sum of their entries."""


def checkpoint_from(details: Sequence[Any]) -> FetchCheckpoint | None:
    """The checkpoint in an attempt's heartbeat details, or ``None`` to start over."""
    if not details:
        return None
    try:
        return FetchCheckpoint.model_validate(details[0])
    except ValidationError:
        return None


class ResumePoint(NamedTuple):
    """Where a fetch attempt starts: after ``pages`` stored pages, at ``cursor``."""

    pages: int
    cursor: PageCursor | None
    """The next page's cursor; ``None`` with ``finished`` False means the first page."""
    finished: bool
    """Every page is stored already."""


class PageJournal:
    def __init__(self, path: Path) -> None:
        self.path = path

    def resume(self, checkpoint: FetchCheckpoint | None) -> int:
        """Keep the first ``checkpoint.pages`` complete lines (all gone without one)."""
        keep = checkpoint.pages if checkpoint else 0
        if keep <= 0 or not self.path.exists():
            self.path.unlink(missing_ok=True)
            return 0
        lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
        complete = [line for line in lines[:keep] if line.endswith("\n")]
        self.path.write_text("".join(complete), encoding="utf-8")
        return len(complete)

    def append(self, page: TimeEntryPage) -> None:
        line = {
            "entries": [e.model_dump(mode="json") for e in page.entries],
            "stats": page.stats.model_dump(),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as sink:
            sink.write(json.dumps(line, ensure_ascii=False) + "\n")

    def read(self) -> tuple[list[TimeEntry], FetchStatistics]:
        """Every stored entry, duplicates across pages dropped and counted."""
        entries: list[TimeEntry] = []
        stats = FetchStatistics()
        seen: set[int] = set()
        if not self.path.exists():
            return entries, stats
        with self.path.open(encoding="utf-8") as source:
            for line in source:
                page = json.loads(line)
                stats = add_statistics(stats, FetchStatistics.model_validate(page["stats"]))
                for item in page["entries"]:
                    entry = TimeEntry.model_validate(item)
                    if entry.id in seen:
                        stats.duplicates_dropped += 1
                        stats.entries_kept -= 1
                        continue
                    seen.add(entry.id)
                    entries.append(entry)
        return entries, stats

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)

    def resume_point(self, checkpoint: FetchCheckpoint | None) -> ResumePoint:
        """Cut the journal back to ``checkpoint`` and say where to go on from.

        Starts over (an empty journal, the first page) without a checkpoint, after a
        ``restart`` and when the journal holds fewer complete pages than the checkpoint counts.
        """
        usable = None if checkpoint is None or checkpoint.restart else checkpoint
        pages = self.resume(usable)
        if usable is None or usable.pages <= 0 or pages < usable.pages:
            return ResumePoint(self.resume(None), None, finished=False)
        return ResumePoint(pages, usable.cursor, finished=usable.cursor is None)
