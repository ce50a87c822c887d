"""The fetch's entries on their way from the page journal to ``raw_toggl_data.json``, one page
in memory at a time (issue 12).

``spool_entries`` reads the stored pages once: it drops duplicates across pages, sums the
seconds for the completeness check, keeps each person's local days of the range and renders
every kept entry into a temp file, exactly as the artifact holds it. The artifact is then
written from that file (``offload.iter_dump_spooled``), so neither the range's entries nor its
JSON text is ever whole in the worker's memory.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import IO

from pydantic import TypeAdapter

from volt_agent.domain.local_time import local_date
from volt_agent.domain.models import FetchStatistics, TimeEntry
from volt_agent.pipeline.fetch_journal import FetchCheckpoint, PageEntries, PageJournal

SPOOL_BYTES = 4 * 1024 * 1024
"""Rendered entries stay in memory up to this size, then go to a temp file."""
_ENTRY_LIST = TypeAdapter(list[TimeEntry])


@dataclass
class SpooledEntries:
    """What the pages held: the kept entries rendered in ``file`` and the counts."""

    file: IO[bytes]
    fetched_seconds: int = 0
    """Seconds of every entry after duplicates, before the local-date filter."""
    stats: FetchStatistics = field(default_factory=FetchStatistics)
    """The pages' statistics after duplicates, before the local-date filter."""
    kept: int = 0
    outside: int = 0
    """Entries of the fetch margin outside the range in their owner's zone."""
    user_ids: set[int] = field(default_factory=set)

    def close(self) -> None:
        self.file.close()


def spool_entries(
    journal: PageJournal,
    checkpoint: FetchCheckpoint,
    *,
    zones: Mapping[int, str],
    default_timezone: str,
    start: date,
    end: date,
) -> SpooledEntries:
    """Read pages 1..``checkpoint.pages`` (``BrokenJournalError`` when they no longer chain)."""
    spool = SpooledEntries(tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES))  # noqa: SIM115
    entries = PageEntries()
    try:
        for page in journal.iter_pages(checkpoint):
            kept: list[TimeEntry] = []
            for entry in entries.page(page):
                spool.fetched_seconds += entry.seconds
                day = local_date(entry.start, zones.get(entry.user_id, default_timezone))
                if start <= day <= end:
                    kept.append(entry)
                    spool.user_ids.add(entry.user_id)
                else:
                    spool.outside += 1
            if kept:
                spool.file.write((b",\n" if spool.kept else b"") + items_text(kept))
                spool.kept += len(kept)
    except BaseException:
        spool.close()
        raise
    spool.stats = entries.stats
    return spool


def items_text(entries: list[TimeEntry]) -> bytes:
    """``",\n".join(offload.item_text(e) for e in entries)``, encoded, rendered in one call
    (about half the CPU of a call per entry): the list's pretty JSON with every line indented
    one more level, without its brackets. ``entries`` is not empty."""
    text = _ENTRY_LIST.dump_json(entries, indent=2).replace(b"\n", b"\n  ")
    return text[len(b"[\n") : -len(b"\n  ]")]
