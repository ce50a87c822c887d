"""The spool renders the kept entries page by page, byte for byte as ``item_text`` would."""

import contextlib
import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import IO

from volt_agent.domain.models import FetchStatistics, TimeEntry
from volt_agent.pipeline.fetch_journal import FetchCheckpoint, PageJournal, entries_text
from volt_agent.pipeline.offload import item_text
from volt_agent.pipeline.raw_spool import EntrySpool, spool_entries
from volt_agent.sources.pagination import PageCursor
from volt_agent.sources.toggl import TimeEntryPage
from volt_agent.storage.run_folder import RunFolder

TOKYO = timezone(timedelta(hours=9))


def entry(entry_id: int, user_id: int, start: datetime, **fields: object) -> TimeEntry:
    return TimeEntry(
        id=entry_id,
        user_id=user_id,
        start=start,
        stop=start + timedelta(hours=1),
        seconds=3600,
        **fields,  # type: ignore[arg-type]
    )


ODD = [
    entry(1, 1, datetime(2026, 11, 16, 9, tzinfo=TOKYO), description='Fix "login" \\ #12\n\tnow'),
    entry(2, 2, datetime(2026, 11, 16, 23, 30, tzinfo=UTC), user_name="Дмитрий García 🚀"),
    entry(3, 1, datetime(2026, 11, 17, 9, 0, 0, 500, tzinfo=UTC), tag_ids=[5, 6], project_id=9),
    TimeEntry(id=4, user_id=2, start=datetime(2026, 11, 17, tzinfo=UTC), seconds=0),
]


def test_entries_text_is_each_entrys_item_text_joined() -> None:
    assert entries_text(ODD) == ",\n".join(item_text(e) for e in ODD).encode()
    assert entries_text(ODD[:1]) == item_text(ODD[0]).encode()


def test_spooled_entries_are_the_kept_ones_rendered_in_order(tmp_path: Path) -> None:
    journal = PageJournal(RunFolder(tmp_path, "run-1"))
    stats = FetchStatistics(rows_received=2, entries_kept=2)
    journal.write(1, None, TimeEntryPage(ODD[:2], PageCursor(first_row_number=3), stats))
    outside = entry(5, 2, datetime(2026, 11, 19, 1, tzinfo=UTC))  # the 19th in Tokyo too
    early = entry(6, 2, datetime(2026, 11, 15, 16, tzinfo=UTC))  # the 15th in UTC, 16th in Tokyo
    third = [ODD[1], early, *ODD[2:], outside]  # ODD[1] again: a duplicate across pages
    journal.write(2, PageCursor(first_row_number=3), TimeEntryPage(third, None, stats))
    spool = spool_entries(
        journal,
        FetchCheckpoint(cursor=None, pages=2),
        zones={2: "Asia/Tokyo"},
        default_timezone="UTC",
        start=date(2026, 11, 16),
        end=date(2026, 11, 18),
    )
    with contextlib.closing(spool):
        spool.file.seek(0)
        rendered = spool.file.read()
    kept = [ODD[0], ODD[1], early, ODD[2], ODD[3]]
    assert rendered == ",\n".join(item_text(e) for e in kept).encode()
    assert (spool.kept, spool.outside, spool.user_ids) == (5, 1, {1, 2})
    assert spool.fetched_seconds == 3600 * 5  # ODD[3] has 0 s; the outside one counts
    assert (spool.stats.duplicates_dropped, spool.stats.entries_kept) == (1, 3)


def test_pages_spooled_as_fetched_equal_the_pages_read_back(tmp_path: Path) -> None:
    """The fetch spools each page as it stores it; a page whose every row is kept reuses the
    rows' one rendering, any other is rendered from its kept rows. The result is the
    journal's read back: the same bytes and counts."""
    journal = PageJournal(RunFolder(tmp_path, "run-1"))
    stats = FetchStatistics(rows_received=2, entries_kept=2)
    outside = entry(5, 2, datetime(2026, 11, 19, 1, tzinfo=UTC))
    pages = [
        (None, TimeEntryPage(ODD[:2], PageCursor(first_row_number=3), stats)),
        (PageCursor(first_row_number=3), TimeEntryPage([ODD[1], *ODD[2:], outside], None, stats)),
    ]
    window = {"zones": {2: "Asia/Tokyo"}, "default_timezone": "UTC"}
    days = {"start": date(2026, 11, 16), "end": date(2026, 11, 18)}
    spool = EntrySpool(**window, **days)  # type: ignore[arg-type]
    for number, (cursor, page) in enumerate(pages, 1):
        rendered = entries_text(page.entries)
        journal.write(number, cursor, page, rendered)
        spool.add(page, rendered)
    read_back = spool_entries(
        journal,
        FetchCheckpoint(cursor=None, pages=2),
        **window,
        **days,  # type: ignore[arg-type]
    )
    with contextlib.closing(spool.spooled) as fetched, contextlib.closing(read_back):
        assert dataclasses.replace(fetched, file=None) == dataclasses.replace(read_back, file=None)
        assert file_bytes(fetched.file) == file_bytes(read_back.file)
        assert (fetched.kept, fetched.outside, fetched.stats.duplicates_dropped) == (4, 1, 1)


def test_a_wholly_kept_page_reuses_the_given_rendering() -> None:
    spool = EntrySpool(
        zones={}, default_timezone="UTC", start=date(2026, 11, 16), end=date(2026, 11, 18)
    )
    stats = FetchStatistics(rows_received=2, entries_kept=2)
    spool.add(TimeEntryPage(ODD[:1], None, stats), b"<page one>")
    spool.add(TimeEntryPage([ODD[0], ODD[2]], None, stats), b"<page two>")  # ODD[0] again
    with contextlib.closing(spool.spooled) as spooled:
        assert file_bytes(spooled.file) == b"<page one>,\n" + item_text(ODD[2]).encode()


def file_bytes(file: IO[bytes]) -> bytes:
    file.seek(0)
    return file.read()
