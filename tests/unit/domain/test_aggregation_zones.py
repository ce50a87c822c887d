from datetime import UTC, date, datetime, timedelta

from volt_agent.domain.aggregation import aggregate
from volt_agent.domain.models import TimeEntry, TogglUser, Visibility

START, END = date(2026, 11, 16), date(2026, 11, 22)


def entry(entry_id: int, user_id: int, start: datetime, description: str = "Work") -> TimeEntry:
    return TimeEntry(
        id=entry_id,
        user_id=user_id,
        description=description,
        start=start,
        stop=start + timedelta(minutes=30),
        seconds=1800,
    )


def test_entry_times_are_shown_in_their_owners_zone() -> None:
    users = [
        TogglUser(id=1, name="Ana", timezone="America/Los_Angeles"),
        TogglUser(id=2, name="Bo", timezone="Asia/Kolkata"),
    ]
    instant = datetime(2026, 11, 16, 7, 50, tzinfo=UTC)
    result = aggregate([entry(1, 1, instant), entry(2, 2, instant)], users, START, END)
    refs = {u.user_id: u.unmatched[0].entries[0] for u in result.users}
    assert refs[1].start.isoformat() == "2026-11-15T23:50:00-08:00"
    assert refs[2].start.isoformat() == "2026-11-16T13:20:00+05:30"
    assert refs[1].stop == instant + timedelta(minutes=30)  # the same instant, another offset
    assert {u.user_id: u.timezone for u in result.users} == {
        1: "America/Los_Angeles",
        2: "Asia/Kolkata",
    }


def test_users_without_a_zone_get_the_default_zone_and_none_keeps_times_as_fetched() -> None:
    instant = datetime(2026, 11, 16, 23, 0, tzinfo=UTC)
    entries = [entry(1, 1, instant), entry(2, 9, instant)]  # user 9 is not in the list
    users = [TogglUser(id=1, name="Ana")]
    zoned = aggregate(entries, users, START, END, default_timezone="Europe/Berlin")
    assert {u.user_id: u.timezone for u in zoned.users} == {1: "Europe/Berlin", 9: "Europe/Berlin"}
    assert zoned.users[0].unmatched[0].entries[0].start.isoformat() == "2026-11-17T00:00:00+01:00"
    plain = aggregate(entries, users, START, END)
    assert {u.timezone for u in plain.users} == {None}
    assert plain.users[0].unmatched[0].entries[0].start == instant
    assert plain.users[0].unmatched[0].entries[0].start.utcoffset() == timedelta(0)


def test_visibility_is_carried_to_the_aggregate() -> None:
    seen = Visibility(token_is_admin=False, token_user_id=1, token_user_name="Ana")
    result = aggregate([], [], START, END, visibility=seen)
    assert result.visibility == seen
    assert result.visibility.own_entries_only
    assert not aggregate([], [], START, END).visibility.own_entries_only
