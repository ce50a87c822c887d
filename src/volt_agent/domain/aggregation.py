"""Group time entries per user into matched Fibery entities and unmatched activities.

Pure: entries in, ``TogglAggregated`` out. Totals are sums of entry seconds, so every
number in a report can be traced back to ``raw_toggl_data.json``. Ordering is
deterministic (hours descending, then key) and independent of input order: an entity's name
comes from its earliest entry (by start time, then id). The entries are consumed once, in any
order, and never held: a caller may stream them from a file. Entry times are
shown in their owner's zone (``TogglUser.timezone``, else ``default_timezone``), so a
date taken from them is that person's local date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

from volt_agent.domain.local_time import in_zone
from volt_agent.domain.models import (
    AggregationStatistics,
    EntityKey,
    EntryRef,
    MatchedEntity,
    ParsedDescription,
    TimeEntry,
    TogglAggregated,
    TogglUser,
    UnmatchedActivity,
    UserAggregate,
    Visibility,
)
from volt_agent.domain.parsing import DescriptionParser, id_sort_key

K = TypeVar("K")
UNKNOWN_TYPE = "Unknown/Unknown"
EMPTY_DESCRIPTION = "(no description)"


_Order = tuple[datetime, int]
"""An entry's place in time: ``(start, id)``."""


@dataclass
class _Bucket:
    first: _Order
    seconds: int = 0
    entries: list[EntryRef] = field(default_factory=list)
    parsed: ParsedDescription | None = None


def entity_key(parsed: ParsedDescription) -> EntityKey | None:
    """The Fibery address of a parsed reference; type falls back to ``UNKNOWN_TYPE``."""
    if parsed.entity_id is None:
        return None
    return EntityKey(type_key=parsed.type_key or UNKNOWN_TYPE, public_id=parsed.entity_id)


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
    parser = parser or DescriptionParser()
    user_info = {u.id: u for u in users}
    zones = {u.id: u.timezone or default_timezone for u in user_info.values()}
    matched: dict[int, dict[EntityKey, _Bucket]] = defaultdict(dict)
    unmatched: dict[int, dict[str, _Bucket]] = defaultdict(dict)
    names: dict[int, tuple[_Order, str]] = {}
    # a person logs the same description day after day: each distinct one is parsed once
    parsed_by_text: dict[str, ParsedDescription] = {}

    for entry in entries:
        order = (entry.start, entry.id)
        named = names.get(entry.user_id)
        if named is None or order < named[0]:
            names[entry.user_id] = (order, entry.user_name)
        parsed = parsed_by_text.get(entry.description)
        if parsed is None:
            parsed = parsed_by_text[entry.description] = parser.parse(entry.description)
        ref = _entry_ref(entry, zones.get(entry.user_id, default_timezone))
        key = entity_key(parsed)
        if key is not None:
            bucket = matched[entry.user_id].setdefault(key, _Bucket(order, parsed=parsed))
            if order < bucket.first:  # the earliest entry names the entity
                bucket.first, bucket.parsed = order, parsed
        else:
            label = parsed.text or EMPTY_DESCRIPTION
            bucket = unmatched[entry.user_id].setdefault(label, _Bucket(order))
            bucket.first = min(bucket.first, order)
        bucket.seconds += entry.seconds
        bucket.entries.append(ref)

    user_ids = sorted(set(matched) | set(unmatched))
    aggregates = [
        _user_aggregate(
            uid,
            user_info.get(uid),
            names[uid][1] if uid in names else "",
            matched[uid],
            unmatched[uid],
        ).model_copy(update={"timezone": zones.get(uid, default_timezone)})
        for uid in user_ids
    ]
    aggregates.sort(key=lambda u: (-u.total_seconds, u.user_name, u.user_id))
    return TogglAggregated(
        start_date=start_date,
        end_date=end_date,
        users=aggregates,
        statistics=_statistics(aggregates),
        visibility=visibility or Visibility(),
    )


def _entry_ref(entry: TimeEntry, zone_name: str | None) -> EntryRef:
    start, stop = entry.start, entry.stop
    if zone_name is not None:
        start = in_zone(start, zone_name)
        stop = None if stop is None else in_zone(stop, zone_name)
    return EntryRef(
        id=entry.id, start=start, stop=stop, seconds=entry.seconds, description=entry.description
    )


def _user_aggregate(
    user_id: int,
    info: TogglUser | None,
    fallback_name: str,
    matched: dict[EntityKey, _Bucket],
    unmatched: dict[str, _Bucket],
) -> UserAggregate:
    # buckets in the order of their first entry, as if the entries had come sorted by time:
    # the sorts below are stable, so equal sort keys keep that order
    matched_items = [_matched_entity(key, bucket) for key, bucket in _by_first(matched)]
    matched_items.sort(key=lambda m: (-m.seconds, m.type_key or "", id_sort_key(m.entity_id)))
    unmatched_items = [
        UnmatchedActivity(
            description=label,
            seconds=bucket.seconds,
            entry_count=len(bucket.entries),
            entries=_sorted_refs(bucket.entries),
        )
        for label, bucket in _by_first(unmatched)
    ]
    unmatched_items.sort(key=lambda a: (-a.seconds, a.description))
    matched_seconds = sum(m.seconds for m in matched_items)
    unmatched_seconds = sum(a.seconds for a in unmatched_items)
    return UserAggregate(
        user_id=user_id,
        user_name=(info.name if info and info.name else fallback_name) or f"user-{user_id}",
        email=info.email if info else None,
        total_seconds=matched_seconds + unmatched_seconds,
        matched_seconds=matched_seconds,
        unmatched_seconds=unmatched_seconds,
        entry_count=sum(m.entry_count for m in matched_items)
        + sum(a.entry_count for a in unmatched_items),
        matched=matched_items,
        unmatched=unmatched_items,
    )


def _by_first(buckets: dict[K, _Bucket]) -> list[tuple[K, _Bucket]]:
    return sorted(buckets.items(), key=lambda item: item[1].first)


def _matched_entity(key: EntityKey, bucket: _Bucket) -> MatchedEntity:
    parsed = bucket.parsed
    assert parsed is not None  # every matched bucket is created with its parsed description
    database, _, entity_type = key.type_key.partition("/")
    known = key.type_key != UNKNOWN_TYPE
    return MatchedEntity(
        entity_id=key.public_id,
        database=database if known else None,
        entity_type=entity_type if known else None,
        project=parsed.project,
        name=parsed.text or f"#{key.public_id}",
        seconds=bucket.seconds,
        entry_count=len(bucket.entries),
        entries=_sorted_refs(bucket.entries),
    )


def _sorted_refs(refs: list[EntryRef]) -> list[EntryRef]:
    return sorted(refs, key=lambda r: (r.start, r.id))


def _statistics(users: list[UserAggregate]) -> AggregationStatistics:
    entity_keys: set[EntityKey] = set()
    for user in users:
        for m in user.matched:
            entity_keys.add(EntityKey(type_key=m.type_key or UNKNOWN_TYPE, public_id=m.entity_id))
    by_type: dict[str, int] = defaultdict(int)
    for key in entity_keys:
        by_type[key.type_key] += 1
    return AggregationStatistics(
        user_count=len(users),
        entry_count=sum(u.entry_count for u in users),
        matched_entry_count=sum(m.entry_count for u in users for m in u.matched),
        unmatched_entry_count=sum(a.entry_count for u in users for a in u.unmatched),
        unique_entity_count=len(entity_keys),
        entities_by_type=dict(sorted(by_type.items())),
        total_seconds=sum(u.total_seconds for u in users),
        matched_seconds=sum(u.matched_seconds for u in users),
        unmatched_seconds=sum(u.unmatched_seconds for u in users),
    )


def referenced_entities(aggregated: TogglAggregated) -> dict[str, list[str]]:
    """Public ids per type key referenced anywhere in the aggregate, sorted numerically."""
    ids: dict[str, set[str]] = defaultdict(set)
    for user in aggregated.users:
        for m in user.matched:
            ids[m.type_key or UNKNOWN_TYPE].add(m.entity_id)
    return {k: sorted(v, key=id_sort_key) for k, v in sorted(ids.items())}
