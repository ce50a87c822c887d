"""The fetch's entries on their way to ``raw_toggl_data.json``, one page in memory at a time
(issue 12).

An ``EntrySpool`` takes the pages in order, as the fetch stores them (or, for pages an earlier
attempt stored, as read back from the journal: ``add_stored``): it drops duplicates across
pages, sums the seconds for the completeness check, keeps each person's local days of the
range and renders every kept entry into a temp file, exactly as the artifact holds it. The
artifact is then written from that file (``offload.iter_dump_spooled``), so neither the
range's entries nor its JSON text is ever whole in the worker's memory, and a page's rows
are parsed once and rendered once (the page file and the spool share the rendering when
every row of the page is kept).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import IO

from volt_agent.domain.local_time import local_date
from volt_agent.domain.models import FetchStatistics, TimeEntry
from volt_agent.pipeline.fetch_journal import (
    FetchCheckpoint,
    PageEntries,
    PageJournal,
    StoredPage,
    entries_text,
)
from volt_agent.sources.toggl_rows import TimeEntryPage

SPOOL_BYTES = 4 * 1024 * 1024
"""Rendered entries stay in memory up to this size, then go to a temp file."""


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


class EntrySpool:
    """Spools the kept entries of a fetch's pages, given in order; ``spooled`` holds the
    result (its ``stats`` kept up to date), and must be closed by its taker. ``on_kept`` is
    called with each kept entry, in order (the fetch feeds the aggregate step's
    ``Aggregation``)."""

    def __init__(
        self,
        *,
        zones: Mapping[int, str],
        default_timezone: str,
        start: date,
        end: date,
        on_kept: Callable[[TimeEntry], None] | None = None,
    ) -> None:
        self.spooled = SpooledEntries(tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES))  # noqa: SIM115
        self._pages = PageEntries()
        self._zones = zones
        self._default_timezone = default_timezone
        self._range = (start, end)
        self._on_kept = on_kept

    def add(self, page: StoredPage | TimeEntryPage, rendered: bytes | None = None) -> None:
        """Spool the next page; ``rendered`` is ``entries_text(page.entries)`` when the
        caller has it (used when every entry of the page is kept)."""
        spool, zones, zone = self.spooled, self._zones, self._default_timezone
        start, end = self._range
        kept: list[TimeEntry] = []
        for entry in self._pages.page(page):
            spool.fetched_seconds += entry.seconds
            day = local_date(entry.start, zones.get(entry.user_id, zone))
            if start <= day <= end:
                kept.append(entry)
                spool.user_ids.add(entry.user_id)
            else:
                spool.outside += 1
        spool.stats = self._pages.stats
        if not kept:
            return
        if self._on_kept is not None:
            for entry in kept:
                self._on_kept(entry)
        if rendered is None or len(kept) < len(page.entries):  # the page's text is not theirs
            rendered = entries_text(kept)
        spool.file.write((b",\n" if spool.kept else b"") + rendered)
        spool.kept += len(kept)

    def add_stored(self, journal: PageJournal, checkpoint: FetchCheckpoint) -> None:
        """Spool pages 1..``checkpoint.pages`` read back from ``journal``
        (``BrokenJournalError`` when they no longer chain)."""
        for page in journal.iter_pages(checkpoint):
            self.add(page)


def spool_entries(
    journal: PageJournal,
    checkpoint: FetchCheckpoint,
    *,
    zones: Mapping[int, str],
    default_timezone: str,
    start: date,
    end: date,
) -> SpooledEntries:
    """Pages 1..``checkpoint.pages`` read back and spooled (``BrokenJournalError`` when they
    no longer chain)."""
    spool = EntrySpool(zones=zones, default_timezone=default_timezone, start=start, end=end)
    try:
        spool.add_stored(journal, checkpoint)
    except BaseException:
        spool.spooled.close()
        raise
    return spool.spooled
