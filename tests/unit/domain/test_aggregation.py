from datetime import UTC, date, datetime, timedelta

from volt_agent.domain.aggregation import (
    EMPTY_DESCRIPTION,
    UNKNOWN_TYPE,
    aggregate,
    referenced_entities,
)
from volt_agent.domain.models import TimeEntry, TogglAggregated, TogglUser

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def entry(
    entry_id: int, user_id: int, description: str, seconds: int, offset_h: int = 0
) -> TimeEntry:
    start = T0 + timedelta(hours=offset_h)
    return TimeEntry(
        id=entry_id,
        user_id=user_id,
        user_name=f"Toggl {user_id}",
        description=description,
        start=start,
        stop=start + timedelta(seconds=seconds),
        seconds=seconds,
    )


ENTRIES = [
    entry(1, 10, "Fix login #123 [Scrum] [Task] [Moneyball]", 3600),
    entry(2, 10, "Fix login again #123 [Scrum] [Task] [Moneyball]", 1800, 2),
    entry(3, 10, "Crash on save #9 [Scrum] [Bug] [Moneyball]", 900, 3),
    entry(4, 10, "Daily   standup", 600, 4),
    entry(5, 10, "Daily standup", 600, 28),
    entry(6, 20, "Roadmap #5 [Product] [Feature] [Core]", 7200),
    entry(7, 20, "", 300, 1),
    entry(8, 20, "Loose ref #77", 120, 2),
    entry(9, 20, "Fix login #123 [Scrum] [Task] [Moneyball]", 60, 3),
]
USERS = [TogglUser(id=10, email="a@example.com", name="Anna"), TogglUser(id=20, name="Boris")]


def run() -> TogglAggregated:
    return aggregate(ENTRIES, USERS, date(2026, 11, 16), date(2026, 11, 22))


def test_totals_equal_sum_of_entry_seconds() -> None:
    result = run()
    assert result.statistics.total_seconds == sum(e.seconds for e in ENTRIES)
    for user in result.users:
        own = [e for e in ENTRIES if e.user_id == user.user_id]
        assert user.total_seconds == sum(e.seconds for e in own)
        assert user.total_seconds == user.matched_seconds + user.unmatched_seconds
        assert user.matched_seconds == sum(m.seconds for m in user.matched)
        assert user.entry_count == len(own)
        for item in [*user.matched, *user.unmatched]:
            assert item.seconds == sum(r.seconds for r in item.entries)


def test_matched_grouped_by_entity_and_sorted_by_time() -> None:
    anna = next(u for u in run().users if u.user_id == 10)
    assert anna.user_name == "Anna"
    assert anna.email == "a@example.com"
    assert [(m.type_key, m.entity_id, m.seconds, m.entry_count) for m in anna.matched] == [
        ("Scrum/Task", "123", 5400, 2),
        ("Scrum/Bug", "9", 900, 1),
    ]
    task = anna.matched[0]
    assert task.hours == 1.5
    assert task.name == "Fix login"
    assert task.project == "Moneyball"
    assert [r.id for r in task.entries] == [1, 2]


def test_unmatched_grouped_by_cleaned_description() -> None:
    users = {u.user_id: u for u in run().users}
    assert [(a.description, a.seconds, a.entry_count) for a in users[10].unmatched] == [
        ("Daily standup", 1200, 2)
    ]
    assert [a.description for a in users[20].unmatched] == [EMPTY_DESCRIPTION]


def test_reference_without_type_is_kept_under_unknown_type() -> None:
    boris = next(u for u in run().users if u.user_id == 20)
    loose = next(m for m in boris.matched if m.entity_id == "77")
    assert loose.type_key is None
    assert referenced_entities(run())[UNKNOWN_TYPE] == ["77"]


def test_statistics_and_references() -> None:
    stats = run().statistics
    assert stats.user_count == 2
    assert stats.entry_count == len(ENTRIES)
    assert stats.matched_entry_count == 6
    assert stats.unmatched_entry_count == 3
    assert stats.unique_entity_count == 4
    assert stats.entities_by_type == {
        "Product/Feature": 1,
        "Scrum/Bug": 1,
        "Scrum/Task": 1,
        UNKNOWN_TYPE: 1,
    }
    assert stats.matched_share == round(stats.matched_seconds / stats.total_seconds, 4)
    assert referenced_entities(run()) == {
        "Product/Feature": ["5"],
        "Scrum/Bug": ["9"],
        "Scrum/Task": ["123"],
        UNKNOWN_TYPE: ["77"],
    }


def test_users_ordered_by_hours_and_output_is_deterministic() -> None:
    first = run()
    assert [u.user_id for u in first.users] == [20, 10]
    shuffled = aggregate(list(reversed(ENTRIES)), USERS, date(2026, 11, 16), date(2026, 11, 22))
    assert shuffled.model_dump_json() == first.model_dump_json()


def test_unknown_user_falls_back_to_toggl_name() -> None:
    result = aggregate([entry(1, 99, "x", 60)], [], date(2026, 11, 16), date(2026, 11, 16))
    assert result.users[0].user_name == "Toggl 99"
    assert result.users[0].email is None


def test_empty_input() -> None:
    result = aggregate([], USERS, date(2026, 11, 16), date(2026, 11, 16))
    assert result.users == []
    assert result.statistics.total_seconds == 0
    assert result.statistics.matched_share == 0.0
