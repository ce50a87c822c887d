"""The positional page journal: page n is one object; the chain of cursors decides what a
resumed attempt trusts, so a stale attempt's late writes can neither shift nor drop a page."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from volt_agent.domain.models import FetchStatistics, TimeEntry
from volt_agent.pipeline.fetch_journal import (
    PAGES_DIR,
    BrokenJournalError,
    FetchCheckpoint,
    PageJournal,
    ResumePoint,
    StoredPage,
    checkpoint_from,
    entries_text,
    page_name,
)
from volt_agent.sources.pagination import PageCursor
from volt_agent.sources.toggl import TimeEntryPage
from volt_agent.storage.run_folder import RunFolder

START = datetime(2026, 11, 16, 9, tzinfo=UTC)


def at(row: int) -> PageCursor:
    return PageCursor(first_row_number=row)


def page(*ids: int, last: bool = False) -> TimeEntryPage:
    entries = [TimeEntry(id=i, user_id=1, start=START, seconds=60 * i) for i in ids]
    stats = FetchStatistics(rows_received=len(ids), entries_kept=len(ids))
    return TimeEntryPage(entries, None if last else at(ids[-1] + 1), stats)


def folder(tmp_path: Path) -> RunFolder:
    return RunFolder(tmp_path, "run-1")


def three_pages(tmp_path: Path, attempt: int = 1) -> PageJournal:
    """Pages (1, 2), (3, 4), (5, 6): the last one ends the fetch."""
    journal = PageJournal(folder(tmp_path), attempt)
    journal.write(1, None, page(1, 2))
    journal.write(2, at(3), page(3, 4))
    journal.write(3, at(5), page(5, 6, last=True))
    return journal


def ids(journal: PageJournal, checkpoint: FetchCheckpoint) -> list[int]:
    return [e.id for e in journal.read(checkpoint)[0]]


def test_each_page_is_its_own_object_with_its_place_in_the_chain(tmp_path: Path) -> None:
    journal = three_pages(tmp_path, attempt=2)
    stored = [journal.folder.exists(page_name(n)) for n in range(1, 5)]
    assert stored == [True, True, True, False]
    assert page_name(1) == f"{PAGES_DIR}/page-00001.json"
    first = journal.chain(FetchCheckpoint(cursor=None, pages=3))[0]
    assert (first.number, first.attempt, first.cursor, first.next_cursor) == (1, 2, None, at(3))


@pytest.mark.parametrize("rendered", [False, True])
def test_a_page_is_stored_as_its_model_would_be_saved(tmp_path: Path, rendered: bool) -> None:
    """The page file is spliced from the rows' one rendering (``entries_text``, shared with
    the spool): byte for byte the ``StoredPage`` that ``RunFolder.save`` wrote before."""
    journal = PageJournal(folder(tmp_path), attempt=3)
    fetched = [page(1, 2), page(3, last=True), TimeEntryPage([], None, FetchStatistics())]
    for number, (cursor, each) in enumerate(zip([None, at(3), None], fetched, strict=True), 1):
        text = entries_text(each.entries) if rendered else None
        journal.write(number, cursor, each, text)
        model = StoredPage(
            number=number,
            attempt=3,
            cursor=cursor,
            next_cursor=each.next_cursor,
            entries=each.entries,
            stats=each.stats,
        )
        expected = (model.model_dump_json(indent=2) + "\n").encode()
        assert journal.folder.read_bytes(page_name(number)) == expected


def test_resume_trusts_exactly_the_checkpointed_pages(tmp_path: Path) -> None:
    journal = three_pages(tmp_path)
    checkpoint = FetchCheckpoint(cursor=at(5), pages=2)
    assert journal.resume_point(checkpoint) == ResumePoint(2, at(5), finished=False)
    assert ids(journal, checkpoint) == [1, 2, 3, 4]  # page 3 is past the checkpoint


def test_resume_point_of_a_finished_fetch_keeps_every_page(tmp_path: Path) -> None:
    journal = three_pages(tmp_path)
    done = FetchCheckpoint(cursor=None, pages=3)
    assert journal.resume_point(done) == ResumePoint(3, None, finished=True)
    assert ids(journal, done) == [1, 2, 3, 4, 5, 6]


def test_no_checkpoint_or_a_restart_starts_at_page_one(tmp_path: Path) -> None:
    journal = three_pages(tmp_path)
    restart = FetchCheckpoint(cursor=None, pages=0, requests=7, restart=True, mismatches=1)
    assert checkpoint_from([restart.model_dump(mode="json")]) == restart
    assert journal.resume_point(restart) == ResumePoint(0, None, finished=False)
    assert journal.resume_point(None) == ResumePoint(0, None, finished=False)


def test_a_stale_write_of_the_same_rows_is_harmless(tmp_path: Path) -> None:
    """A zombie attempt re-stores page 2 from the same cursor: same start, same end."""
    journal = three_pages(tmp_path)
    PageJournal(journal.folder, attempt=1).write(2, at(3), page(3, 4))
    done = FetchCheckpoint(cursor=None, pages=3)
    assert ids(journal, done) == [1, 2, 3, 4, 5, 6]


def test_a_stale_page_that_breaks_the_chain_is_fetched_again(tmp_path: Path) -> None:
    """A zombie with another page size stores a page 2 ending elsewhere: page 3 no longer
    follows it, so the resume goes on from where the zombie's page 2 ends (row 4) and a read
    that sees it refuses instead of losing row 4."""
    journal = three_pages(tmp_path, attempt=2)
    PageJournal(journal.folder, attempt=1).write(2, at(3), page(3))  # ends at row 4, not 5
    done = FetchCheckpoint(cursor=None, pages=3)
    assert journal.resume_point(done) == ResumePoint(2, at(4), finished=False)
    with pytest.raises(BrokenJournalError, match="page 3 of 3"):
        journal.read(done)


def test_a_stale_page_from_another_place_is_not_trusted(tmp_path: Path) -> None:
    journal = three_pages(tmp_path)
    PageJournal(journal.folder, attempt=1).write(2, at(5), page(5, 6, last=True))
    assert journal.resume_point(FetchCheckpoint(cursor=None, pages=3)) == ResumePoint(
        1, at(3), finished=False
    )


def test_the_last_page_must_end_where_the_checkpoint_says(tmp_path: Path) -> None:
    journal = three_pages(tmp_path)
    checkpoint = FetchCheckpoint(cursor=at(9), pages=3)
    assert journal.resume_point(checkpoint) == ResumePoint(2, at(5), finished=False)


def test_removed_pages_resume_at_the_good_prefix(tmp_path: Path) -> None:
    """A stale attempt that finished removes its pages; the live one fetches them again."""
    journal = three_pages(tmp_path)
    journal.folder.remove(page_name(2))
    done = FetchCheckpoint(cursor=None, pages=3)
    assert journal.resume_point(done) == ResumePoint(1, at(3), finished=False)
    journal.discard(3)
    assert journal.resume_point(done) == ResumePoint(0, None, finished=False)
    assert not journal.folder.exists(page_name(1))


def test_a_page_with_invalid_rows_is_refused_by_the_read_and_fetched_again(
    tmp_path: Path,
) -> None:
    """The read checks the chain without validating rows, then validates each page as it
    reads it: a page whose rows are invalid ends the read, and the resume (which validates
    them) goes on from the page before it instead of trusting it again."""
    journal = three_pages(tmp_path)
    name = page_name(2)
    text = journal.folder.read_bytes(name).decode()
    journal.folder.save_bytes(name, text.replace('"seconds": 180', '"seconds": "x"').encode())
    done = FetchCheckpoint(cursor=None, pages=3)
    with pytest.raises(BrokenJournalError, match="page 2 of 3"):
        journal.read(done)
    assert journal.resume_point(done) == ResumePoint(1, at(3), finished=False)


def test_duplicates_across_pages_are_dropped_and_counted(tmp_path: Path) -> None:
    journal = PageJournal(folder(tmp_path))
    journal.write(1, None, page(1, 2))
    journal.write(2, at(3), page(2, 3, last=True))
    entries, stats = journal.read(FetchCheckpoint(cursor=None, pages=2))
    assert [e.id for e in entries] == [1, 2, 3]
    assert stats.duplicates_dropped == 1
    assert stats.rows_received == stats.entries_kept + stats.duplicates_dropped


def test_checkpoint_round_trips_through_heartbeat_details() -> None:
    checkpoint = FetchCheckpoint(cursor=PageCursor(window_index=1, first_id=9), pages=3, requests=5)
    assert checkpoint_from([checkpoint.model_dump(mode="json")]) == checkpoint
    assert checkpoint_from([]) is None
    assert checkpoint_from([{"pages": "many"}]) is None
