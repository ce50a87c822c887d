"""The Toggl fetch's page journal: page n stored as one object, so a retried fetch resumes.

``fetch_toggl_data`` saves report page n as ``toggl_pages/page-0000n.json`` (one atomic
write through the ``RunFolder``; never an append) and then heartbeats a ``FetchCheckpoint``:
how many pages are good and the cursor after the last of them. A retried attempt trusts
exactly pages 1..N of its checkpoint, overwrites from page N+1 on, and never reads past N.
No listing is needed: the checkpoint names every page there is to read.

Why this is safe when two attempts overlap (a "zombie": an attempt Temporal gave up on after
a heartbeat timeout that still runs, e.g. on a worker cut off from the server): each page
records the cursor it was fetched from and the cursor after it (and, for diagnosis, the
attempt that wrote it). Pages 1..N are used only when they form one chain from the start of
the range: page 1 starts at the beginning, page k starts where page k-1 ends, and page N ends
where the checkpoint says. A stale attempt's late write of page k either covers the same rows
(same start and end: the same page, harmless to overwrite) or breaks the chain, and then the
pages from k on are fetched again. The chain, not a content hash, is the check because a
page's rows are not a pure function of its number: the page size can differ between attempts
(``PageCursor.page_size``, stepped down when the server refuses one), and the chain stays
sound then. A page missing from the chain (a stale attempt that finished and removed its
pages) is handled the same way. The pages a resumed attempt trusts are read back with the
chain checked again page by page, as a stale attempt may write between the resume and the
read; a broken one ends the attempt retryably (``BrokenJournalError``) and the next attempt
resumes at the good prefix. The pages an attempt fetches itself are spooled as they are
stored (``raw_spool.EntrySpool``), never read back, so a stale attempt's later writes cannot
reach this attempt's ``raw_toggl_data.json``.

A fetch whose totals disagreed (``restart``) starts over from page one; its checkpoint
carries the number of such disagreements to the next attempt (``mismatches``).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from volt_agent.domain.models import FetchStatistics, TimeEntry
from volt_agent.errors import VoltAgentError
from volt_agent.pipeline.offload import iter_dump_spooled
from volt_agent.sources.pagination import PageCursor, Position
from volt_agent.sources.toggl_rows import TimeEntryPage, add_statistics
from volt_agent.storage.atomic import StorageError
from volt_agent.storage.run_folder import RunFolder

PAGES_DIR = "toggl_pages"
LEGACY_JOURNAL_FILE = "raw_toggl_data.partial.jsonl"
"""The line journal of earlier versions; only removed, never read."""
_START: Position = PageCursor().position
_ENTRY_LIST = TypeAdapter(list[TimeEntry])
P = TypeVar("P", bound="PageLink")


def entries_text(entries: list[TimeEntry]) -> bytes:
    """``",\n".join(offload.item_text(e) for e in entries)``, encoded, rendered in one call
    (about half the CPU of a call per entry): the list's pretty JSON with every line indented
    one more level, without its brackets; empty for no entries. A stored page and
    ``raw_toggl_data.json`` hold their entries so (a list member of the top-level object)."""
    if not entries:
        return b""
    text = _ENTRY_LIST.dump_json(entries, indent=2).replace(b"\n", b"\n  ")
    return text[len(b"[\n") : -len(b"\n  ]")]


def page_name(number: int) -> str:
    return f"{PAGES_DIR}/page-{number:05d}.json"


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


class PageLink(BaseModel):
    """A stored page's place in the chain; read as such, the page's rows are parsed but not
    validated (``extra="ignore"``)."""

    model_config = ConfigDict(extra="ignore")

    number: int
    attempt: int
    """The activity attempt that fetched it (for diagnosis; the chain decides)."""
    cursor: PageCursor | None
    """Where it was fetched from (``None``: the start of the range)."""
    next_cursor: PageCursor | None
    """Where the page after it starts; ``None``: the last page."""


class StoredPage(PageLink):
    """One report page as stored: its place in the chain and its rows."""

    model_config = ConfigDict(extra="forbid")

    entries: list[TimeEntry]
    stats: FetchStatistics


class ResumePoint(NamedTuple):
    """Where a fetch attempt starts: after ``pages`` stored pages, at ``cursor``."""

    pages: int
    cursor: PageCursor | None
    """The next page's cursor; ``None`` with ``finished`` False means the first page."""
    finished: bool
    """Every page is stored already."""


class BrokenJournalError(VoltAgentError):
    """A stored page changed under this attempt (a stale attempt wrote or removed it)."""


def _at(cursor: PageCursor | None) -> Position:
    return _START if cursor is None else cursor.position


class PageJournal:
    """The pages of one run's fetch, written by activity attempt ``attempt``."""

    def __init__(self, folder: RunFolder, attempt: int = 1) -> None:
        self.folder = folder
        self.attempt = attempt

    def write(
        self,
        number: int,
        cursor: PageCursor | None,
        page: TimeEntryPage,
        rendered: bytes | None = None,
    ) -> None:
        """Store page ``number``, fetched from ``cursor``, replacing whatever was there: the
        bytes ``RunFolder.save`` writes for its ``StoredPage``. ``rendered`` is
        ``entries_text(page.entries)`` when the caller has it (the fetch spools the same
        text), so the rows are rendered once."""
        stored = StoredPage(
            number=number,
            attempt=self.attempt,
            cursor=cursor,
            next_cursor=page.next_cursor,
            entries=[],
            stats=page.stats,
        )
        text = entries_text(page.entries) if rendered is None else rendered
        chunks = iter_dump_spooled(stored, "entries", io.BytesIO(text), len(page.entries))
        self.folder.save_bytes(page_name(number), b"".join(chunks))

    def _load(self, number: int, model: type[P]) -> P | None:
        """Page ``number``; ``None`` when it is missing or unreadable (then fetched again)."""
        try:
            return self.folder.load(page_name(number), model)
        except StorageError:
            return None

    def chain(self, checkpoint: FetchCheckpoint, *, rows: bool = True) -> list[PageLink]:
        """The longest run of pages 1..k (k ≤ ``checkpoint.pages``) that chain from the start;
        page ``checkpoint.pages`` must also end at ``checkpoint.cursor``. The links come
        without their entries (``iter_pages`` reads those), so the chain stays small.

        With ``rows`` False a page's rows are not validated: for a reader that validates
        each page as it reads it (``iter_pages``), which then finds an invalid page."""
        pages: list[PageLink] = []
        after: PageCursor | None = None
        for number in range(1, checkpoint.pages + 1):
            page = self._load(number, StoredPage if rows else PageLink)
            if page is None or page.number != number or _at(page.cursor) != _at(after):
                break
            last = number == checkpoint.pages
            if last and _ends(page) != _ends_at(checkpoint.cursor):
                break
            pages.append(_link(page))
            if page.next_cursor is None:
                break
            after = page.next_cursor
        return pages

    def resume_point(self, checkpoint: FetchCheckpoint | None) -> ResumePoint:
        """Where to go on from: after the good pages of ``checkpoint``.

        Starts over (the first page) without a checkpoint, after a ``restart`` and when page 1
        is not good; resumes after the last good page when a later one is not.
        """
        if checkpoint is None or checkpoint.restart or checkpoint.pages <= 0:
            return ResumePoint(0, None, finished=False)
        good = self.chain(checkpoint)
        if not good:
            return ResumePoint(0, None, finished=False)
        last = good[-1]
        return ResumePoint(len(good), last.next_cursor, finished=last.next_cursor is None)

    def read(self, checkpoint: FetchCheckpoint) -> tuple[list[TimeEntry], FetchStatistics]:
        """Every entry of pages 1..``checkpoint.pages``, duplicates across pages dropped and
        counted; ``BrokenJournalError`` when those pages no longer form the chain."""
        entries = PageEntries()
        return list(entries.of(self.iter_pages(checkpoint))), entries.stats

    def iter_pages(self, checkpoint: FetchCheckpoint) -> Iterator[StoredPage]:
        """Pages 1..``checkpoint.pages`` loaded one at a time; ``BrokenJournalError`` when they
        no longer form the chain (checked first, and again page by page as each is read)."""
        links = self.chain(checkpoint, rows=False)
        if len(links) != checkpoint.pages:
            raise _broken(len(links) + 1, checkpoint.pages)
        for link in links:
            page = self._load(link.number, StoredPage)
            if page is None or (_at(page.cursor), _ends(page)) != (_at(link.cursor), _ends(link)):
                raise _broken(link.number, checkpoint.pages)
            yield page

    def discard(self, pages: int) -> None:
        """Remove pages 1..``pages`` (one by one: the folder may still be written to)."""
        self.folder.remove(*(page_name(n) for n in range(1, pages + 1)))


class PageEntries:
    """The entries of stored pages in order, duplicates across pages dropped and counted;
    ``stats`` sums the pages' statistics read so far."""

    def __init__(self) -> None:
        self.stats = FetchStatistics()
        self._seen: set[int] = set()

    def of(self, pages: Iterable[StoredPage]) -> Iterator[TimeEntry]:
        for page in pages:
            yield from self.page(page)

    def page(self, page: StoredPage | TimeEntryPage) -> list[TimeEntry]:
        """The entries of ``page`` not seen on a page before it (the next page in order)."""
        self.stats = add_statistics(self.stats, page.stats)
        fresh: list[TimeEntry] = []
        for entry in page.entries:
            if entry.id in self._seen:
                self.stats.duplicates_dropped += 1
                self.stats.entries_kept -= 1
                continue
            self._seen.add(entry.id)
            fresh.append(entry)
        return fresh


def _broken(number: int, pages: int) -> BrokenJournalError:
    return BrokenJournalError(
        f"stored Toggl page {number} of {pages} was replaced or removed by"
        f" another attempt of this fetch; fetching again from page {number}"
    )


def _link(page: PageLink) -> PageLink:
    """The page's place in the chain alone (a ``StoredPage``'s rows are not kept)."""
    return PageLink(
        number=page.number, attempt=page.attempt, cursor=page.cursor, next_cursor=page.next_cursor
    )


def _ends(page: PageLink) -> Position | None:
    return None if page.next_cursor is None else page.next_cursor.position


def _ends_at(cursor: PageCursor | None) -> Position | None:
    return None if cursor is None else cursor.position
