"""Report view models: totals, rankings and distributions computed from aggregated data.

Pure. All sums are over entry seconds; hours appear only when rendered. Every list has a
total order (time descending, then type key and numeric id, or name) so that reports are
byte-for-byte reproducible.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from volt_agent.domain.local_time import local_date
from volt_agent.domain.models import (
    Comment,
    EnrichedEntity,
    EntryRef,
    MatchedEntity,
    UserAggregate,
    Visibility,
)
from volt_agent.domain.parsing import id_sort_key
from volt_agent.reporting.insights import EntityIndex, display_name, entity_ref, matched_key
from volt_agent.reporting.markdown import fmt_hours, fmt_pct, inline
from volt_agent.storage.run_folder import user_slug

NO_PROJECT = "(no project)"
LOCAL_DAYS = "each person's local days"


@dataclass(frozen=True, slots=True)
class PersonTime:
    name: str
    seconds: int


@dataclass(frozen=True, slots=True)
class EntityTotal:
    """Team-wide time on one entity; ``name`` is Fibery's when found, else the Toggl text."""

    type_key: str
    public_id: str
    name: str
    seconds: int
    entry_count: int
    people: tuple[PersonTime, ...]
    entity: EnrichedEntity | None = None


@dataclass(frozen=True, slots=True)
class ActivityTotal:
    description: str
    seconds: int
    entry_count: int
    people: tuple[PersonTime, ...]


@dataclass(frozen=True, slots=True)
class Share:
    """Time of one group (entity type or project)."""

    label: str
    seconds: int
    entry_count: int
    entity_count: int
    people_count: int


@dataclass(frozen=True, slots=True)
class DayTotal:
    """Time of entries starting on ``day``, a local day of each entry's owner."""

    day: date
    seconds: int
    matched_seconds: int
    unmatched_seconds: int
    entry_count: int
    people_count: int


@dataclass(frozen=True, slots=True)
class EntityDetail:
    """One matched entity of a person with what Fibery said about it (``None``: not enriched)."""

    matched: MatchedEntity
    type_key: str
    entity: EnrichedEntity | None
    name: str
    first_day: date | None
    last_day: date | None
    comments: tuple[Comment, ...]


def _people(times: list[tuple[str, int, int]]) -> tuple[PersonTime, ...]:
    """``(name, user id, seconds)`` of each group, one per person and key as aggregation
    makes them (summed all the same), as the people of a total, most time first."""
    seconds_by_person: dict[tuple[str, int], int] = {}
    for name, user_id, seconds in times:
        person = (name, user_id)
        seconds_by_person[person] = seconds_by_person.get(person, 0) + seconds
    ordered = sorted(seconds_by_person.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(PersonTime(name, seconds) for (name, _), seconds in ordered)


def _first_entry(entries: list[EntryRef]) -> tuple[datetime, int] | None:
    return min(((r.start, r.id) for r in entries), default=None)


@dataclass(frozen=True, slots=True)
class PersonRow:
    """A person of the team report with the slug of their report and their top entity."""

    user: UserAggregate
    slug: str
    top: MatchedEntity | None
    top_type_key: str
    top_name: str


def person_rows(users: Sequence[UserAggregate], entities: EntityIndex) -> list[PersonRow]:
    rows = []
    for user in users:
        top = user.matched[0] if user.matched else None
        key = matched_key(top) if top else ("", "")
        rows.append(
            PersonRow(
                user=user,
                slug=user_slug(user.user_name, user.user_id),
                top=top,
                top_type_key=key[0],
                top_name=display_name(top, entities.get(key)) if top else "",
            )
        )
    return rows


EntityNames = Mapping[tuple[str, str], str]
"""The Toggl name of each matched entity across people (``NameTally.names``)."""


class NameTally:
    """The name ``entity_totals`` gives an entity Fibery did not name: that of the group whose
    earliest entry (start, then id) is the earliest across people (the first group when no
    group has entries). Built one FULL person at a time, so that ``entity_totals`` of slim
    people, which keep no entries, can name entities as from the full data."""

    def __init__(self) -> None:
        self._first: dict[tuple[str, str], tuple[tuple[datetime, int] | None, str]] = {}

    def add(self, user: UserAggregate) -> None:
        """Note every matched group of ``user``, whose entries are in ``(start, id)`` order
        (as aggregation builds them): a group's earliest entry is its first."""
        noted = self._first
        for m in user.matched:  # ``note`` inlined: a run has tens of thousands of groups
            key, entries = matched_key(m), m.entries
            current = noted.get(key)
            if not entries:
                if current is None:
                    noted[key] = (None, m.name)
                continue
            first = (entries[0].start, entries[0].id)
            if current is None or current[0] is None or first < current[0]:
                noted[key] = (first, m.name)

    def note(self, key: tuple[str, str], first: tuple[datetime, int] | None, name: str) -> None:
        """A group of ``key`` named ``name`` whose earliest entry is ``first``."""
        current = self._first.get(key)
        if current is None or (first is not None and (current[0] is None or first < current[0])):
            self._first[key] = (first, name)

    def names(self) -> dict[tuple[str, str], str]:
        return {key: name for key, (_, name) in self._first.items()}


def entity_seconds(users: Sequence[UserAggregate]) -> dict[tuple[str, str], int]:
    """Time per entity key across people: what ``entity_totals`` orders by, for a caller that
    shows a few of them (``top_entity_keys``)."""
    seconds: dict[tuple[str, str], int] = defaultdict(int)
    for user in users:
        for m in user.matched:
            seconds[matched_key(m)] += m.seconds
    return seconds


def top_entity_keys(seconds: Mapping[tuple[str, str], int], limit: int) -> list[tuple[str, str]]:
    """The ``limit`` keys ``entity_totals`` puts first: most time, then type and id."""
    return heapq.nsmallest(limit, seconds, key=lambda k: (-seconds[k], k[0], id_sort_key(k[1])))


def entity_totals(
    users: Sequence[UserAggregate],
    entities: EntityIndex | None = None,
    names: EntityNames | None = None,
    *,
    keys: Collection[tuple[str, str]] | None = None,
) -> list[EntityTotal]:
    """Time per entity across people. Without Fibery data the name of the earliest entry wins:
    ``names`` when given (``NameTally.names`` of the full people: then ``users`` may be slim),
    else found in the groups' entries. ``keys``: only those entities' totals (a page showing
    a few of tens of thousands need not build every one)."""
    seconds: dict[tuple[str, str], int] = defaultdict(int)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    people: dict[tuple[str, str], list[tuple[str, int, int]]] = defaultdict(list)
    tally = NameTally()
    for user in users:
        for m in user.matched:
            key = matched_key(m)
            if keys is not None and key not in keys:
                continue
            seconds[key] += m.seconds
            counts[key] += m.entry_count
            people[key].append((user.user_name, user.user_id, m.seconds))
            if names is None:
                tally.note(key, _first_entry(m.entries), m.name)
    toggl_names = tally.names() if names is None else names
    index = entities or {}
    totals = []
    for key, total in seconds.items():
        entity = index.get(key)
        name = toggl_names[key]
        if entity is not None and entity.status == "found" and entity.name:
            name = entity.name
        totals.append(
            EntityTotal(key[0], key[1], name, total, counts[key], _people(people.pop(key)), entity)
        )
    totals.sort(key=lambda t: (-t.seconds, t.type_key, id_sort_key(t.public_id)))
    return totals


def activity_totals(users: Sequence[UserAggregate]) -> list[ActivityTotal]:
    """Unmatched time per cleaned description across people."""
    seconds: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    people: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for user in users:
        for a in user.unmatched:
            seconds[a.description] += a.seconds
            counts[a.description] += a.entry_count
            people[a.description].append((user.user_name, user.user_id, a.seconds))
    totals = [ActivityTotal(d, s, counts[d], _people(people.pop(d))) for d, s in seconds.items()]
    totals.sort(key=lambda t: (-t.seconds, t.description))
    return totals


def _shares(users: Sequence[UserAggregate], by_project: bool) -> list[Share]:
    seconds: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    keys: dict[str, set[tuple[str, str]]] = defaultdict(set)
    people: dict[str, set[int]] = defaultdict(set)
    for user in users:
        for m in user.matched:
            label = (m.project or NO_PROJECT) if by_project else matched_key(m)[0]
            seconds[label] += m.seconds
            counts[label] += m.entry_count
            keys[label].add(matched_key(m))
            people[label].add(user.user_id)
    shares = [
        Share(label, s, counts[label], len(keys[label]), len(people[label]))
        for label, s in seconds.items()
    ]
    shares.sort(key=lambda s: (-s.seconds, s.label))
    return shares


def type_shares(users: Sequence[UserAggregate]) -> list[Share]:
    """Matched time per entity type key (``Space/Type``)."""
    return _shares(users, by_project=False)


def project_shares(users: Sequence[UserAggregate]) -> list[Share]:
    """Matched time per project tag of the description."""
    return _shares(users, by_project=True)


class DayTally:
    """``day_totals`` built one person at a time: ``totals()`` after adding each user equals
    ``day_totals`` of those users, so a caller need not hold every person's entries at once."""

    def __init__(self) -> None:
        self._matched: dict[date, int] = defaultdict(int)
        self._unmatched: dict[date, int] = defaultdict(int)
        self._counts: dict[date, int] = defaultdict(int)
        self._people: dict[date, set[int]] = defaultdict(set)

    def add(self, user: UserAggregate) -> None:
        """Count every entry of ``user`` (all of them: not a slim user's)."""
        zone = user.timezone
        groups = [(self._matched, m.entries) for m in user.matched]
        groups += [(self._unmatched, a.entries) for a in user.unmatched]
        for seconds, refs in groups:
            for ref in refs:
                day = local_date(ref.start, zone)
                seconds[day] += ref.seconds
                self._counts[day] += 1
                self._people[day].add(user.user_id)

    def totals(self) -> list[DayTotal]:
        """Only days with entries, oldest first."""
        return [
            DayTotal(
                day,
                self._matched[day] + self._unmatched[day],
                self._matched[day],
                self._unmatched[day],
                self._counts[day],
                len(self._people[day]),
            )
            for day in sorted(self._counts)
        ]


def day_totals(users: Sequence[UserAggregate]) -> list[DayTotal]:
    """Time per calendar day of entry start in the owner's zone (``UserAggregate.timezone``;
    UTC without one), only days with entries, oldest first."""
    tally = DayTally()
    for user in users:
        tally.add(user)
    return tally.totals()


def _comment_order(item: tuple[int, Comment]) -> tuple[float, int]:
    index, comment = item
    created = comment.created
    if created is None:
        return (float("-inf"), index)
    return (created.replace(tzinfo=created.tzinfo or UTC).timestamp(), index)


def entity_details(
    user: UserAggregate, entities: EntityIndex, max_comments: int = 3
) -> list[EntityDetail]:
    """A person's matched entities in report order, each with its newest comments first."""
    details = []
    for m in user.matched:
        key = matched_key(m)
        entity = entities.get(key)
        days = [local_date(r.start, user.timezone) for r in m.entries]
        comments: tuple[Comment, ...] = ()
        if entity is not None and max_comments > 0:
            ordered = sorted(enumerate(entity.comments), key=_comment_order)
            comments = tuple(c for _, c in reversed(ordered[-max_comments:]))
        details.append(
            EntityDetail(
                matched=m,
                type_key=key[0],
                entity=entity,
                name=display_name(m, entity),
                first_day=min(days, default=None),
                last_day=max(days, default=None),
                comments=comments,
            )
        )
    return details


def person_summary(user: UserAggregate, entities: EntityIndex) -> str:
    """A short markdown-safe paragraph of where a person's time went, built from the data."""
    total = user.total_seconds
    parts = [f"Tracked {fmt_hours(total)} h in {user.entry_count} entries."]
    if total <= 0:
        return " ".join(parts)
    if user.matched:
        top = user.matched[0]
        name = inline(display_name(top, entities.get(matched_key(top))), 80)
        count = len(user.matched)
        parts.append(
            f"{fmt_pct(user.matched_seconds, total)} ({fmt_hours(user.matched_seconds)} h) went"
            f" to {count} Fibery {'entity' if count == 1 else 'entities'}, most to"
            f" {inline(entity_ref(*matched_key(top)))} {name} ({fmt_hours(top.seconds)} h)."
        )
    else:
        parts.append("None of it referenced a Fibery entity.")
    if user.unmatched:
        top_activity = user.unmatched[0]
        parts.append(
            f"{fmt_pct(user.unmatched_seconds, total)} ({fmt_hours(user.unmatched_seconds)} h)"
            f" had no Fibery reference, mostly {inline(top_activity.description, 80)}"
            f" ({fmt_hours(top_activity.seconds)} h)."
        )
    else:
        parts.append("All of it referenced Fibery entities.")
    return " ".join(parts)


def days_label(users: Sequence[UserAggregate]) -> str:
    """The zone of the days of ``users``: their one zone, else each person's own."""
    zones = {u.timezone or "UTC" for u in users}
    return zones.pop() if len(zones) == 1 else LOCAL_DAYS


def days_note(users: Sequence[UserAggregate]) -> str:
    """How a report's days are to be read (markdown-safe)."""
    label = days_label(users)
    if label == LOCAL_DAYS:
        return (
            "days are each person's local days: the date an entry starts in its owner's time"
            " zone (users in raw_toggl_data.json)"
        )
    return f"days are dates of entry starts in {inline(label, 60)}"


def coverage_note(visibility: Visibility, *, markdown: bool = True) -> str:
    """What a report leaves out because of the token's visibility ("" when nothing);
    markdown-safe unless ``markdown`` is off (for autoescaped HTML)."""
    if not visibility.own_entries_only:
        return ""
    name = visibility.token_user_name
    who = (inline(name, 80) if markdown else name) or f"user {visibility.token_user_id}"
    return (
        f"Covers only {who}'s own time entries: the Toggl token is not a workspace admin,"
        " so Toggl showed no one else's."
    )
