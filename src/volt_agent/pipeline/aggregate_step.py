"""The aggregate step and the Toggl report's view of it, one person at a time (issue 12).

``aggregate_run`` streams ``raw_toggl_data.json`` into a ``domain.aggregation.Aggregation``
(entries kept as compact tuples, not models), or takes the one the fetch on this worker fed
as it spooled the same entries (``FetchedEntries``: the file is then not read back). It then
builds the people one by one in the report order: each is rendered into a spooled
``toggl_aggregated.json``, compressed into the run's ``PersonSlices`` and added to the Toggl
report's digest, then dropped. So the step never holds every person's models, and the Toggl
report that follows needs no pass of its own.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass

from volt_agent.domain.aggregation import Aggregation
from volt_agent.domain.models import RawTogglData, TogglAggregated, UserAggregate
from volt_agent.domain.parsing import DescriptionParser
from volt_agent.domain.rounding import RoundingPolicy
from volt_agent.pipeline.offload import item_text, iter_dump_spooled, open_list
from volt_agent.pipeline.person_slices import PersonSlices, SlicesBuilder
from volt_agent.pipeline.raw_spool import SPOOL_BYTES
from volt_agent.reporting.digest import DigestBuilder, RoundedDigest
from volt_agent.reporting.views import DayTotal, EntityNames
from volt_agent.storage.run_folder import RAW_TOGGL, TOGGL_AGGREGATED, RunFolder


@dataclass(frozen=True)
class TogglView:
    """What the Toggl summary is written from: the aggregate rounded by the report policy,
    with slim people, the day totals of every (rounded) entry and the entities' Toggl names
    (``TeamDigest.names``: slim people keep no entries to name them after)."""

    aggregated: TogglAggregated
    days: tuple[DayTotal, ...]
    policy: RoundingPolicy
    names: EntityNames


@dataclass(frozen=True)
class FetchedEntries:
    """What a fetch wrote to ``raw_toggl_data.json``, for an aggregate step on its worker:
    ``raw`` without its entries, and ``aggregation`` fed every entry of them, in order. The
    aggregation can be used once."""

    raw: RawTogglData
    aggregation: Aggregation


def aggregate_run(
    folder: RunFolder,
    parser: DescriptionParser,
    policy: RoundingPolicy,
    fetched: FetchedEntries | None = None,
) -> tuple[PersonSlices, TogglView]:
    """Write ``toggl_aggregated.json`` from ``raw_toggl_data.json`` (or from ``fetched``,
    whose aggregation has its parser already); its people as slices and the Toggl report's
    view (synchronous: for a thread)."""
    if fetched is None:
        raw, acc = _read_raw(folder, parser)
    else:
        raw, acc = fetched.raw, fetched.aggregation
    head = TogglAggregated(
        start_date=raw.start_date,
        end_date=raw.end_date,
        statistics=acc.statistics(),
        visibility=raw.visibility,
    )
    slices = SlicesBuilder()
    toggl = _toggl_digest(policy)
    count = 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        for user in acc.users():
            text = item_text(user)
            spool.write(((",\n" if count else "") + text).encode("utf-8"))
            count += 1
            slices.add(user, toggl.add(user))
        folder.save_stream(TOGGL_AGGREGATED, iter_dump_spooled(head, "users", spool, count))
    people = slices.finish(head)
    return people, _view(toggl, people.head, policy)


def _read_raw(folder: RunFolder, parser: DescriptionParser) -> tuple[RawTogglData, Aggregation]:
    with open_list(folder, RAW_TOGGL, RawTogglData, "entries") as (raw, entries):
        acc = Aggregation(raw.users, parser, default_timezone=raw.default_timezone)
        for entry in entries:
            acc.add(entry)
    return raw, acc


def toggl_view(
    people: Iterable[UserAggregate], head: TogglAggregated, policy: RoundingPolicy
) -> TogglView:
    """The Toggl report's view of full ``people`` (the aggregate's, in its order)."""
    toggl = _toggl_digest(policy)
    for user in people:
        toggl.count(user)
    return _view(toggl, head, policy)


def _toggl_digest(policy: RoundingPolicy) -> RoundedDigest:
    return RoundedDigest(policy, DigestBuilder(insights=False))


def _view(toggl: RoundedDigest, head: TogglAggregated, policy: RoundingPolicy) -> TogglView:
    aggregated, digest = toggl.finish(head)
    return TogglView(aggregated, digest.days, policy, digest.names)
