"""``Aggregation`` against a reference that states the rules directly: the entries sorted by
(start, id), grouped in that order, each person's models built at once (issue 12)."""

from __future__ import annotations

import gc
import random
import weakref
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from volt_agent.domain.aggregation import (
    EMPTY_DESCRIPTION,
    UNKNOWN_TYPE,
    Aggregation,
    aggregate,
    referenced_entities,
)
from volt_agent.domain.local_time import in_zone
from volt_agent.domain.models import (
    AggregationStatistics,
    EntityKey,
    EntryRef,
    MatchedEntity,
    TimeEntry,
    TogglAggregated,
    TogglUser,
    UnmatchedActivity,
    UserAggregate,
)
from volt_agent.domain.parsing import DescriptionParser, id_sort_key

START, END = date(2026, 10, 30), date(2026, 11, 3)
DESCRIPTIONS = [
    "Fix login #123 [Scrum] [Task] [Moneyball]",
    "Fix login, day two #123 [Scrum] [Task] [Atlas]",
    "#123 [Scrum] [Task]",  # no name: the entity is called "#123" when this entry is first
    "Crash on save #9 [Scrum] [Bug] [Moneyball]",
    "Loose ref #77",  # no type: Unknown/Unknown
    "Odd tags #5 [Scr/um] [Task]",
    "Slash first #6 [/x] [T]",  # a type key MatchedEntity cannot show: counted as unknown
    "Daily standup",
    "Daily   standup ",  # the same activity once cleaned
    "",
    "Review [Core]",
    "Планирование",
]
UNMATCHED = [d for d in DESCRIPTIONS if "#" not in d]
ZONES = [None, "America/New_York", "Asia/Kolkata", "Pacific/Kiritimati"]
# around New York's change of offset (1 Nov 2026, 06:00 UTC): 01:30 local happens twice
INSTANTS = [
    datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
    datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
    datetime(2026, 11, 1, 6, 30, 0, 250_000, tzinfo=UTC),
    datetime(2026, 10, 31, 22, 0, tzinfo=UTC),
    datetime(2026, 11, 2, 14, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),  # as fetched
]


def workspace(seed: int) -> tuple[list[TimeEntry], list[TogglUser]]:
    """People with and without names and zones, one not in the user list, one with only
    unmatched entries; starts repeat, ids do not."""
    rng = random.Random(seed)
    users = [
        TogglUser(id=uid, email=f"u{uid}@example.com", name=rng.choice(["", f"Name {uid}"]),
                  timezone=rng.choice(ZONES))
        for uid in (1, 2, 3, 4)
    ]  # fmt: skip
    count = rng.randint(20, 80)
    ids = rng.sample(range(10_000, 99_999), count)
    entries = []
    for n, entry_id in enumerate(ids):
        user_id = rng.choice([1, 2, 3, 4, 5, 6])  # 5: no user record; 6: unmatched only
        start = rng.choice(INSTANTS) + timedelta(hours=rng.choice([0, 0, 1, 26]))
        seconds = rng.randint(1, 7200)
        entries.append(
            TimeEntry(
                id=entry_id,
                user_id=user_id,
                user_name=rng.choice(["", f"Toggl {user_id}.{n % 3}"]),
                description=rng.choice(UNMATCHED if user_id == 6 else DESCRIPTIONS),
                start=start,
                stop=None if n % 11 == 0 else start + timedelta(seconds=seconds),
                seconds=seconds,
            )
        )
    return entries, users


def reference(
    entries: Iterable[TimeEntry], users: list[TogglUser], default_timezone: str | None
) -> list[UserAggregate]:
    parser = DescriptionParser()
    info = {u.id: u for u in users}
    by_user: dict[int, list[TimeEntry]] = defaultdict(list)
    for entry in sorted(entries, key=lambda e: (e.start, e.id)):
        by_user[entry.user_id].append(entry)
    people = []
    for user_id, own in by_user.items():
        user = info.get(user_id)
        zone_name = (user.timezone if user else None) or default_timezone

        def shown(instant: datetime, zone_name: str | None = zone_name) -> datetime:
            return instant if zone_name is None else in_zone(instant, zone_name)

        def refs(group: list[TimeEntry]) -> list[EntryRef]:
            return [
                EntryRef(
                    id=e.id,
                    start=shown(e.start),
                    stop=None if e.stop is None else shown(e.stop),
                    seconds=e.seconds,
                    description=e.description,
                )
                for e in group
            ]

        matched: dict[tuple[str, str], list[TimeEntry]] = defaultdict(list)
        unmatched: dict[str, list[TimeEntry]] = defaultdict(list)
        for e in own:
            parsed = parser.parse(e.description)
            if parsed.entity_id is None:
                unmatched[parsed.text or EMPTY_DESCRIPTION].append(e)
            else:
                matched[(parsed.type_key or UNKNOWN_TYPE, parsed.entity_id)].append(e)
        entities = []
        for (type_key, public_id), group in matched.items():
            first = parser.parse(group[0].description)
            database, _, entity_type = type_key.partition("/")
            known = type_key != UNKNOWN_TYPE
            entities.append(
                MatchedEntity(
                    entity_id=public_id,
                    database=database if known else None,
                    entity_type=entity_type if known else None,
                    project=first.project,
                    name=first.text or f"#{public_id}",
                    seconds=sum(e.seconds for e in group),
                    entry_count=len(group),
                    entries=refs(group),
                )
            )
        entities.sort(key=lambda m: (-m.seconds, m.type_key or "", id_sort_key(m.entity_id)))
        activities = [
            UnmatchedActivity(
                description=label,
                seconds=sum(e.seconds for e in group),
                entry_count=len(group),
                entries=refs(group),
            )
            for label, group in unmatched.items()
        ]
        activities.sort(key=lambda a: (-a.seconds, a.description))
        matched_seconds = sum(m.seconds for m in entities)
        unmatched_seconds = sum(a.seconds for a in activities)
        people.append(
            UserAggregate(
                user_id=user_id,
                user_name=(user.name if user and user.name else own[0].user_name)
                or f"user-{user_id}",
                email=user.email if user else None,
                timezone=zone_name,
                total_seconds=matched_seconds + unmatched_seconds,
                matched_seconds=matched_seconds,
                unmatched_seconds=unmatched_seconds,
                entry_count=len(own),
                matched=entities,
                unmatched=activities,
            )
        )
    return sorted(people, key=lambda u: (-u.total_seconds, u.user_name, u.user_id))


def reference_statistics(people: list[UserAggregate]) -> AggregationStatistics:
    keys = {
        EntityKey(type_key=m.type_key or UNKNOWN_TYPE, public_id=m.entity_id)
        for u in people
        for m in u.matched
    }
    by_type: dict[str, int] = defaultdict(int)
    for key in keys:
        by_type[key.type_key] += 1
    return AggregationStatistics(
        user_count=len(people),
        entry_count=sum(u.entry_count for u in people),
        matched_entry_count=sum(m.entry_count for u in people for m in u.matched),
        unmatched_entry_count=sum(a.entry_count for u in people for a in u.unmatched),
        unique_entity_count=len(keys),
        entities_by_type=dict(sorted(by_type.items())),
        total_seconds=sum(u.total_seconds for u in people),
        matched_seconds=sum(u.matched_seconds for u in people),
        unmatched_seconds=sum(u.unmatched_seconds for u in people),
    )


def accumulate(
    entries: Iterable[TimeEntry], users: list[TogglUser], default_timezone: str | None
) -> Aggregation:
    acc = Aggregation(users, DescriptionParser(), default_timezone=default_timezone)
    acc.add_all(entries)
    return acc


@pytest.mark.parametrize("seed", range(40))
def test_any_order_of_entries_gives_the_reference_people_and_statistics(seed: int) -> None:
    entries, users = workspace(seed)
    rng = random.Random(seed)
    default_timezone = rng.choice([None, "Europe/Berlin"])
    expected = reference(entries, users, default_timezone)
    expected_json = [u.model_dump_json() for u in expected]
    statistics = reference_statistics(expected)
    whole = TogglAggregated(start_date=START, end_date=END, users=expected, statistics=statistics)
    for _ in range(3):
        shuffled = rng.sample(entries, len(entries))
        acc = accumulate(shuffled, users, default_timezone)
        assert acc.statistics() == statistics
        assert acc.user_ids() == [u.user_id for u in expected]
        assert acc.referenced_entities() == referenced_entities(whole)
        people = list(acc.users())
        assert people == expected
        assert [u.model_dump_json() for u in people] == expected_json
        assert [u.model_dump(exclude_unset=True) for u in people] == [
            u.model_dump(exclude_unset=True) for u in expected
        ]
        assert acc.statistics() == statistics  # still known once the people are released
        result = aggregate(shuffled, users, START, END, default_timezone=default_timezone)
        assert result.model_dump_json() == whole.model_dump_json()


def test_the_workspaces_cover_the_cases_they_are_for() -> None:
    people = [u for seed in range(40) for u in reference(*workspace(seed), "Europe/Berlin")]
    assert {u.user_name for u in people} >= {"user-5", "Toggl 5.0", "Name 1"}
    assert any(u.user_id == 6 and u.unmatched and not u.matched for u in people)
    assert any(m.name == "#123" for u in people for m in u.matched)
    assert any(
        len({r.start for r in a.entries}) < len(a.entries) for u in people for a in u.unmatched
    )
    assert {r.start.utcoffset() for u in people for m in u.matched for r in m.entries} >= {
        timedelta(hours=-4),
        timedelta(hours=-5),
    }  # both sides of New York's change of offset


def test_users_yields_the_final_order_and_releases_each_person_once_yielded() -> None:
    entries, users = workspace(7)
    acc = accumulate(entries, users, "UTC")
    order = acc.user_ids()
    assert len(order) >= 3
    people = acc.users()
    first = next(people)
    assert first.user_id == order[0]
    with pytest.raises(KeyError):
        acc.user(order[0])  # released: its entries are no longer kept
    assert acc.user(order[1]).user_id == order[1]  # not reached yet: still there
    gone = weakref.ref(first)
    del first
    gc.collect()
    assert gone() is None  # neither the accumulator nor the iterator keeps a yielded person
    second = next(people)
    assert [second.user_id, *(u.user_id for u in people)] == order[1:]
    with pytest.raises(RuntimeError):
        acc.users()
    with pytest.raises(RuntimeError):
        acc.add(entries[0])


def test_statistics_follow_entries_added_after_they_were_asked_for() -> None:
    entries, users = workspace(3)
    acc = accumulate(entries[:5], users, None)
    assert acc.statistics().entry_count == 5
    acc.add_all(entries[5:])
    assert acc.statistics() == reference_statistics(reference(entries, users, None))
    assert acc.user_ids() == [u.user_id for u in reference(entries, users, None)]


def test_times_without_a_zone_are_kept_as_fetched_and_zones_show_the_same_instant() -> None:
    berlin = datetime(2026, 11, 1, 7, 15, 0, 999_999, tzinfo=timezone(timedelta(hours=1)))
    entry = TimeEntry(id=1, user_id=1, start=berlin, stop=None, seconds=60, description="x")
    plain = accumulate([entry], [], None).user(1).unmatched[0].entries[0]
    assert (plain.start, plain.start.utcoffset(), plain.stop) == (berlin, timedelta(hours=1), None)
    zoned = accumulate([entry], [TogglUser(id=1, timezone="America/New_York")], None)
    start = zoned.user(1).unmatched[0].entries[0].start
    assert start.isoformat() == "2026-11-01T01:15:00.999999-05:00"
    assert start.fold == 1  # the second 01:15 of that night


def test_groups_the_report_cannot_tell_apart_keep_the_order_of_their_first_entries() -> None:
    """``#77`` and ``#77 [/x] [T]`` are two groups that sort equal (same id, no type shown, same
    hours): the one whose first entry is earlier comes first, whatever the order of adding."""
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    entries = [
        TimeEntry(id=1, user_id=1, description="Loose #77", start=at, seconds=60),
        TimeEntry(id=2, user_id=1, description="Slash #77 [/x] [T]", start=at, seconds=30),
        TimeEntry(id=3, user_id=1, description="Slash #77 [/x] [T]", start=at, seconds=30),
    ]
    for order in (entries, entries[::-1]):
        names = [m.name for m in accumulate(order, [], None).user(1).matched]
        assert names == ["Loose", "Slash"]
    late = [entries[0].model_copy(update={"start": at + timedelta(hours=1)}), *entries[1:]]
    for order in (late, late[::-1]):
        assert [m.name for m in accumulate(order, [], None).user(1).matched] == ["Slash", "Loose"]


def test_no_entries_give_no_people_and_every_statistic_set_to_zero() -> None:
    acc = accumulate([], [TogglUser(id=1, name="Ann")], "UTC")
    assert (acc.user_ids(), list(acc.users()), acc.referenced_entities()) == ([], [], {})
    expected = reference_statistics([])
    assert acc.statistics().model_dump(exclude_unset=True) == expected.model_dump(
        exclude_unset=True
    )
