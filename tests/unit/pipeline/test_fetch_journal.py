from datetime import UTC, datetime
from pathlib import Path

from volt_agent.domain.models import FetchStatistics, TimeEntry
from volt_agent.pipeline.fetch_journal import (
    FetchCheckpoint,
    PageJournal,
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
