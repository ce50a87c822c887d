"""Group time entries per user into matched Fibery entities and unmatched activities.

Pure: entries in, ``UserAggregate`` per person out. Totals are sums of entry seconds, so
every number in a report can be traced back to ``raw_toggl_data.json``. Ordering is
deterministic (hours descending, then key) and independent of input order: an entity's name
comes from its earliest entry (by start time, then id). The entries are consumed once, in any
order, and never held as models: ``Aggregation`` keeps five integers and a shared description
per entry and builds one person's models at a time, so a caller can write and drop people
one by one. Entry times are shown in their owner's zone (``TogglUser.timezone``, else
``default_timezone``), so a date taken from them is that person's local date.
"""

from __future__ import annotations

import sys
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from volt_agent.domain.local_time import zone
from volt_agent.domain.models import (
    AggregationStatistics,
    EntryRef,
    MatchedEntity,
    TimeEntry,
    TogglAggregated,
    TogglUser,
    UnmatchedActivity,
    UserAggregate,
    Visibility,
)
from volt_agent.domain.parsing import DescriptionParser, id_sort_key

UNKNOWN_TYPE = "Unknown/Unknown"
EMPTY_DESCRIPTION = "(no description)"

_Key = tuple[str, str]
"""A matched group's ``(type_key, public_id)``."""
_Reading = tuple[str, _Key | None, str, str | None]
"""What a description says: the shared string, its entity key (``None``: unmatched), the
name of its entity or the label of its activity, its project."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NO_STOP = -(2**63)
_WIDTH = 5
"""Integers kept per entry: start, stop (microseconds since the epoch), id, seconds, group."""


@dataclass(slots=True)
class _Group:
    """One matched entity or unmatched activity of a person, without its entries."""

    index: int
    key: _Key | None
    """``None``: an unmatched activity."""
    name: str
    """The entity's name or the activity's label: that of the earliest entry."""
    project: str | None
    first_start: int
    first_id: int
    """The earliest entry's start (microseconds since the epoch) and id."""
    seconds: int = 0
    count: int = 0


class _Person:
    """One person's entries as rows of ``_WIDTH`` integers plus a shared description each."""

    __slots__ = (
        "by_key",
        "groups",
        "name",
        "name_id",
        "name_start",
        "rows",
        "texts",
        "times",
        "zone",
    )

    def __init__(self, zone_name: str | None) -> None:
        self.zone: tzinfo | None = None if zone_name is None else zone(zone_name)
        self.rows = array("q")
        self.texts: list[str] = []
        self.times: list[datetime | None] | None = [] if zone_name is None else None
        """Without a zone times are shown as fetched: their own objects are kept."""
        self.groups: list[_Group] = []
        self.by_key: dict[_Key | str, _Group] = {}
        self.name_start: int | None = None
        self.name_id = 0
        self.name = ""
        """The Toggl name on the earliest entry (by start, then id)."""


@dataclass(frozen=True)
class _Summary:
    order: list[int]
    statistics: AggregationStatistics
    referenced: dict[str, list[str]]


class Aggregation:
    """An accumulator of time entries that builds each person's ``UserAggregate`` on request.

    ``add`` takes entries in any order; ``users()`` yields the people in the report's order
    (hours descending, then name, then id), each built when reached and released from the
    accumulator once yielded: it can be iterated once (a second call raises
    ``RuntimeError``), and no entry can be added after. ``statistics()``, ``user_ids()`` and
    ``referenced_entities()`` need no models and still answer after ``users()``.
    """

    def __init__(
        self,
        users: Iterable[TogglUser],
        parser: DescriptionParser | None = None,
        *,
        default_timezone: str | None = None,
    ) -> None:
        """``default_timezone`` is the zone of users without one (``None``: times as fetched)."""
        self._parser = parser or DescriptionParser()
        self._info = {u.id: u for u in users}
        self._default_zone = default_timezone
        self._zones = {u.id: u.timezone or default_timezone for u in self._info.values()}
        self._people: dict[int, _Person] = {}
        # a person logs the same description day after day: each distinct one is parsed once
        self._readings: dict[str, _Reading] = {}
        self._summary: _Summary | None = None
        self._released = False

    def add_all(self, entries: Iterable[TimeEntry]) -> None:
        for entry in entries:
            self.add(entry)

    def add(self, entry: TimeEntry) -> None:
        if self._released:
            raise RuntimeError("entries added after users() was iterated")
        self._summary = None
        reading = self._readings.get(entry.description) or self._read(entry.description)
        text, key, name, project = reading
        user_id, entry_id, seconds = entry.user_id, entry.id, entry.seconds
        person = self._people.get(user_id)
        if person is None:
            zone_name = self._zones.get(user_id, self._default_zone)
            person = self._people[user_id] = _Person(zone_name)
        start = _micros(entry.start)
        first = person.name_start
        if first is None or start < first or (start == first and entry_id < person.name_id):
            person.name_start, person.name_id, person.name = start, entry_id, entry.user_name
        group_key = name if key is None else key
        group = person.by_key.get(group_key)
        if group is None:
            group = _Group(len(person.groups), key, name, project, start, entry_id)
            person.by_key[group_key] = group
            person.groups.append(group)
        elif start < group.first_start or (
            start == group.first_start and entry_id < group.first_id
        ):  # the earliest entry names the entity
            group.first_start, group.first_id = start, entry_id
            group.name, group.project = name, project
        group.seconds += seconds
        group.count += 1
        stop = entry.stop
        person.rows.extend(
            (start, _NO_STOP if stop is None else _micros(stop), entry_id, seconds, group.index)
        )
        person.texts.append(text)
        if person.times is not None:
            person.times += (entry.start, stop)

    def _read(self, description: str) -> _Reading:
        text = sys.intern(description)
        parsed = self._parser.parse(text)
        reading: _Reading
        if parsed.entity_id is None:
            label = parsed.text or EMPTY_DESCRIPTION
            reading = (text, None, text if label == text else label, None)
        else:
            public_id = parsed.entity_id
            key = (sys.intern(parsed.type_key or UNKNOWN_TYPE), public_id)
            project = None if parsed.project is None else sys.intern(parsed.project)
            reading = (text, key, parsed.text or f"#{public_id}", project)
        self._readings[text] = reading
        return reading

    def statistics(self) -> AggregationStatistics:
        """The totals of every entry added, as ``aggregate`` reports them."""
        return self._summarise().statistics.model_copy(deep=True)

    def user_ids(self) -> list[int]:
        """The people with entries, in the order ``users()`` yields them."""
        return list(self._summarise().order)

    def referenced_entities(self) -> dict[str, list[str]]:
        """Public ids per type key referenced anywhere, as ``referenced_entities`` gives."""
        return {k: list(v) for k, v in self._summarise().referenced.items()}

    def users(self) -> Iterator[UserAggregate]:
        """Each person built when reached, then released; once only (see the class)."""
        if self._released:
            raise RuntimeError("users() can be iterated once: its people are released")
        order = self._summarise().order
        self._released = True
        return self._release(order)

    def _release(self, order: list[int]) -> Iterator[UserAggregate]:
        for user_id in order:
            # no local keeps the person or the model: the caller's drop frees them
            yield self._build(user_id, self._people.pop(user_id))

    def user(self, user_id: int) -> UserAggregate:
        """One person's aggregate, built without releasing them (``KeyError``: no entries, or
        already yielded by ``users()``)."""
        return self._build(user_id, self._people[user_id])

    def _name(self, user_id: int, person: _Person) -> str:
        info = self._info.get(user_id)
        return (info.name if info and info.name else person.name) or f"user-{user_id}"

    def _summarise(self) -> _Summary:
        if self._summary is not None:
            return self._summary
        ranks: list[tuple[int, str, int]] = []
        referenced: dict[str, set[str]] = defaultdict(set)
        counts = [0, 0, 0, 0]  # matched entries, matched seconds, unmatched entries, seconds
        for user_id, person in self._people.items():
            for group in person.groups:
                side = 0 if group.key is not None else 2
                counts[side] += group.count
                counts[side + 1] += group.seconds
                if group.key is not None:
                    type_key, public_id = group.key
                    referenced[_shown_type_key(type_key) or UNKNOWN_TYPE].add(public_id)
            total = sum(group.seconds for group in person.groups)
            ranks.append((-total, self._name(user_id, person), user_id))
        matched_entries, matched_seconds, unmatched_entries, unmatched_seconds = counts
        statistics = AggregationStatistics(
            user_count=len(self._people),
            entry_count=matched_entries + unmatched_entries,
            matched_entry_count=matched_entries,
            unmatched_entry_count=unmatched_entries,
            unique_entity_count=sum(len(ids) for ids in referenced.values()),
            entities_by_type={k: len(v) for k, v in sorted(referenced.items())},
            total_seconds=matched_seconds + unmatched_seconds,
            matched_seconds=matched_seconds,
            unmatched_seconds=unmatched_seconds,
        )
        self._summary = _Summary(
            order=[user_id for *_, user_id in sorted(ranks)],
            statistics=statistics,
            referenced={k: sorted(v, key=id_sort_key) for k, v in sorted(referenced.items())},
        )
        return self._summary

    def _build(self, user_id: int, person: _Person) -> UserAggregate:
        entries = _entries(person)
        # groups in the order of their first entry, as if the entries had come sorted by
        # time: the sorts below are stable, so equal sort keys keep that order
        matched_items: list[MatchedEntity] = []
        unmatched_items: list[UnmatchedActivity] = []
        for group in sorted(person.groups, key=lambda g: (g.first_start, g.first_id)):
            refs = entries[group.index]
            if group.key is not None:
                matched_items.append(_matched_entity(group.key, group, refs))
            else:
                unmatched_items.append(
                    UnmatchedActivity(
                        description=group.name,
                        seconds=group.seconds,
                        entry_count=group.count,
                        entries=refs,
                    )
                )
        matched_items.sort(key=lambda m: (-m.seconds, m.type_key or "", id_sort_key(m.entity_id)))
        unmatched_items.sort(key=lambda a: (-a.seconds, a.description))
        matched_seconds = sum(m.seconds for m in matched_items)
        unmatched_seconds = sum(a.seconds for a in unmatched_items)
        info = self._info.get(user_id)
        return UserAggregate(
            user_id=user_id,
            user_name=self._name(user_id, person),
            email=info.email if info else None,
            timezone=self._zones.get(user_id, self._default_zone),
            total_seconds=matched_seconds + unmatched_seconds,
            matched_seconds=matched_seconds,
            unmatched_seconds=unmatched_seconds,
            entry_count=sum(m.entry_count for m in matched_items)
            + sum(a.entry_count for a in unmatched_items),
            matched=matched_items,
            unmatched=unmatched_items,
        )


def aggregate(
    entries: Iterable[TimeEntry],
    users: Iterable[TogglUser],
    start_date: date,
    end_date: date,
    parser: DescriptionParser | None = None,
    *,
    default_timezone: str | None = None,
    visibility: Visibility | None = None,
) -> TogglAggregated:
    """``default_timezone`` is the zone of users without one (``None``: times as fetched)."""
    acc = Aggregation(users, parser, default_timezone=default_timezone)
    acc.add_all(entries)
    statistics = acc.statistics()
    return TogglAggregated(
        start_date=start_date,
        end_date=end_date,
        users=list(acc.users()),
        statistics=statistics,
        visibility=visibility or Visibility(),
    )


def _micros(instant: datetime) -> int:
    if instant.tzinfo is None:  # naive: local time, as ``astimezone`` reads it
        instant = instant.astimezone()
    return (instant - _EPOCH) // _MICROSECOND


def _at(micros: int, zone_info: tzinfo) -> datetime:
    """The instant ``micros`` shown in ``zone_info``, as ``in_zone`` shows it."""
    seconds, fraction = divmod(micros, 1_000_000)
    moment = datetime.fromtimestamp(seconds, zone_info)
    return moment.replace(microsecond=fraction) if fraction else moment


def _entries(person: _Person) -> list[list[EntryRef]]:
    """Each group's entries as models, sorted by (start, id), ties in the order added."""
    rows, texts, times, zone_info = person.rows, person.texts, person.times, person.zone
    places = list(zip(rows[0::_WIDTH], rows[2::_WIDTH], strict=True))
    refs: list[list[EntryRef]] = [[] for _ in person.groups]
    for i in sorted(range(len(texts)), key=places.__getitem__):
        base = i * _WIDTH
        start: datetime | None
        if times is not None:
            start, stop = times[2 * i], times[2 * i + 1]
        else:
            assert zone_info is not None  # a person has either a zone or their own times
            start = _at(rows[base], zone_info)
            stop_micros = rows[base + 1]
            stop = None if stop_micros == _NO_STOP else _at(stop_micros, zone_info)
        refs[rows[base + 4]].append(
            EntryRef(
                id=rows[base + 2],
                start=start,
                stop=stop,
                seconds=rows[base + 3],
                description=texts[i],
            )
        )
    return refs


def _shown_type_key(type_key: str) -> str | None:
    """``MatchedEntity.type_key`` of a group keyed ``type_key``."""
    if type_key == UNKNOWN_TYPE:
        return None
    database, _, entity_type = type_key.partition("/")
    return f"{database}/{entity_type}" if database and entity_type else None


def _matched_entity(key: _Key, group: _Group, refs: list[EntryRef]) -> MatchedEntity:
    type_key, public_id = key
    database, _, entity_type = type_key.partition("/")
    known = type_key != UNKNOWN_TYPE
    return MatchedEntity(
        entity_id=public_id,
        database=database if known else None,
        entity_type=entity_type if known else None,
        project=group.project,
        name=group.name,
        seconds=group.seconds,
        entry_count=group.count,
        entries=refs,
    )


def referenced_entities(aggregated: TogglAggregated) -> dict[str, list[str]]:
    """Public ids per type key referenced anywhere in the aggregate, sorted numerically."""
    ids: dict[str, set[str]] = defaultdict(set)
    for user in aggregated.users:
        for m in user.matched:
            ids[m.type_key or UNKNOWN_TYPE].add(m.entity_id)
    return {k: sorted(v, key=id_sort_key) for k, v in sorted(ids.items())}
