"""Report rows → entries: each entry of a grouped row shares the row's fields, never its lists."""

from datetime import UTC, datetime
from typing import Any

from volt_agent.domain.models import FetchStatistics
from volt_agent.sources.toggl_rows import flatten_rows


def item(entry_id: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "id": entry_id,
        "seconds": 600,
        "start": "2026-11-16T09:00:00+01:00",
        "stop": "2026-11-16T09:10:00+01:00",
        **overrides,
    }


def grouped(*items: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "user_id": 7,
        "username": "Ana",
        "description": None,
        "project_id": 3.0,
        "task_id": True,
        "billable": True,
        "tag_ids": [1, "2", 3.0, False],
        "time_entries": list(items),
        **overrides,
    }


def test_each_entry_of_a_grouped_row_gets_the_rows_fields_and_its_own_tag_list() -> None:
    seen = {9}
    entries, stats = flatten_rows(
        [grouped(item(1), item(2, stop=None), item(1), item(9), item(3, start="2026-11-16T08:00"))],
        seen,
    )
    assert [e.id for e in entries] == [1, 3]
    first, last = entries
    assert (first.user_id, first.user_name, first.description) == (7, "Ana", "")
    assert (first.project_id, first.task_id, first.billable, first.tag_ids) == (
        3,
        None,
        True,
        [1, 3],
    )
    assert last.start == datetime(2026, 11, 16, 8, tzinfo=UTC)  # naive: taken as UTC
    first.tag_ids.append(99)
    assert last.tag_ids == [1, 3]
    assert seen == {1, 3, 9}
    assert stats == FetchStatistics(
        rows_received=5,
        entries_kept=2,
        duplicates_dropped=2,
        running_entries_dropped=1,
        null_descriptions=2,
    )


def test_a_row_without_a_readable_user_drops_each_of_its_entries_as_malformed() -> None:
    entries, stats = flatten_rows(
        [grouped(item(1), item(2), user_id=True), grouped(item(3), "junk"), grouped()], set()
    )
    assert [e.id for e in entries] == [3]
    assert stats == FetchStatistics(
        rows_received=5, entries_kept=1, malformed_rows_dropped=4, null_descriptions=1
    )
