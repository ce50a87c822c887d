from datetime import UTC, datetime
from pathlib import Path

from volt_agent.domain.models import FetchStatistics, TimeEntry
from volt_agent.pipeline.fetch_journal import (
    FetchCheckpoint,
    PageJournal,
    ResumePoint,
    checkpoint_from,
)
from volt_agent.sources.pagination import PageCursor
from volt_agent.sources.toggl import TimeEntryPage

START = datetime(2026, 11, 16, 9, tzinfo=UTC)


def page(*ids: int) -> TimeEntryPage:
    entries = [TimeEntry(id=i, user_id=1, start=START, seconds=60 * i) for i in ids]
    stats = FetchStatistics(rows_received=len(ids), entries_kept=len(ids))
    return TimeEntryPage(entries, PageCursor(first_row_number=ids[-1] + 1), stats)


def test_resume_keeps_only_checkpointed_pages(tmp_path: Path) -> None:
    journal = PageJournal(tmp_path / "j.jsonl")
    for ids in [(1, 2), (3, 4), (5, 6)]:
        journal.append(page(*ids))
    with journal.path.open("a") as sink:
        sink.write('{"entries": [')  # a torn write from a crash
    assert journal.resume(FetchCheckpoint(cursor=PageCursor(), pages=2)) == 2
    entries, stats = journal.read()
    assert [e.id for e in entries] == [1, 2, 3, 4]
    assert stats.entries_kept == 4


def test_no_checkpoint_starts_over(tmp_path: Path) -> None:
    journal = PageJournal(tmp_path / "j.jsonl")
    journal.append(page(1))
    assert journal.resume(None) == 0
    assert not journal.path.exists()
    assert journal.read() == ([], FetchStatistics())


def test_duplicates_across_pages_are_dropped_and_counted(tmp_path: Path) -> None:
    journal = PageJournal(tmp_path / "j.jsonl")
    journal.append(page(1, 2))
    journal.append(page(2, 3))
    entries, stats = journal.read()
    assert [e.id for e in entries] == [1, 2, 3]
    assert stats.duplicates_dropped == 1
    assert stats.rows_received == stats.entries_kept + stats.duplicates_dropped


def test_checkpoint_round_trips_through_heartbeat_details() -> None:
    checkpoint = FetchCheckpoint(cursor=PageCursor(window_index=1, first_id=9), pages=3, requests=5)
    assert checkpoint_from([checkpoint.model_dump(mode="json")]) == checkpoint
    assert checkpoint_from([]) is None
    assert checkpoint_from([{"pages": "many"}]) is None


def three_pages(tmp_path: Path) -> PageJournal:
    journal = PageJournal(tmp_path / "j.jsonl")
    for ids in [(1, 2), (3, 4), (5, 6)]:
        journal.append(page(*ids))
    return journal


def test_resume_point_continues_after_the_checkpointed_pages(tmp_path: Path) -> None:
    journal = three_pages(tmp_path)
    cursor = PageCursor(first_row_number=5)
    assert journal.resume_point(FetchCheckpoint(cursor=cursor, pages=2)) == ResumePoint(
        2, cursor, finished=False
    )
    assert [e.id for e in journal.read()[0]] == [1, 2, 3, 4]


def test_resume_point_of_a_finished_fetch_keeps_every_page(tmp_path: Path) -> None:
    journal = three_pages(tmp_path)
    assert journal.resume_point(FetchCheckpoint(cursor=None, pages=3)) == ResumePoint(
        3, None, finished=True
    )


def test_a_restart_discards_the_pages_and_starts_at_page_one(tmp_path: Path) -> None:
    journal = three_pages(tmp_path)
    restart = FetchCheckpoint(cursor=None, pages=0, requests=7, restart=True, mismatches=1)
    assert checkpoint_from([restart.model_dump(mode="json")]) == restart
    assert journal.resume_point(restart) == ResumePoint(0, None, finished=False)
    assert not journal.path.exists()


def test_a_journal_that_lost_checkpointed_pages_starts_over(tmp_path: Path) -> None:
    journal = three_pages(tmp_path)
    lines = journal.path.read_text().splitlines(keepends=True)
    journal.path.write_text(lines[0])  # the other two pages are gone
    checkpoint = FetchCheckpoint(cursor=PageCursor(first_row_number=7), pages=3)
    assert journal.resume_point(checkpoint) == ResumePoint(0, None, finished=False)
    assert journal.read() == ([], FetchStatistics())
