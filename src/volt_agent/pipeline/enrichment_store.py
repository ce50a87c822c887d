"""Enrichment files of one run: the batch plan, one file per enriched batch, and an index
of them for the person reports and ``save_enriched_data``.

Batch files are written atomically by the activity that produced them, so a batch retried
after a crash simply overwrites its own file (at-least-once safe). What a store has loaded
is shared only by activities of the same workflow run on one worker (``RunStores``).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from pydantic import Field

from volt_agent.domain.aggregation import UNKNOWN_TYPE
from volt_agent.domain.models import (
    EnrichedData,
    EnrichedEntity,
    Model,
    TogglAggregated,
    UserAggregate,
    compact_copy,
)
from volt_agent.domain.rounding import RoundingPolicy
from volt_agent.pipeline.aggregate_step import FetchedEntries, TogglView, toggl_view
from volt_agent.pipeline.offload import load_in_pieces
from volt_agent.pipeline.packed_entities import PackedEntities
from volt_agent.pipeline.person_slices import PersonSlices, slices_from_file
from volt_agent.pipeline.trends_step import compare_with_previous
from volt_agent.reporting.trends import Trends
from volt_agent.storage.run_folder import ENRICHMENT_PARTS_DIR, RunFolder

PLAN_FILE = f"{ENRICHMENT_PARTS_DIR}/plan.json"
EntityIndex = dict[tuple[str, str], EnrichedEntity]
RunKey = tuple[str, str]
"""A workflow run: ``(workflow_id, workflow_run_id)``; a re-run of a run id is a new key."""


class PlannedBatch(Model):
    type_key: str
    index: int
    ids: list[str]


class EnrichmentPlan(Model):
    batches: list[PlannedBatch] = Field(default_factory=list)


class EnrichedBatch(Model):
    type_key: str
    index: int
    entities: list[EnrichedEntity]


def _safe(type_key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", type_key)


def batch_file(type_key: str, index: int) -> str:
    return f"{ENRICHMENT_PARTS_DIR}/{_safe(type_key)}-{index:05d}.json"


class EnrichmentStore:
    def __init__(self, folder: RunFolder) -> None:
        self._folder = folder
        self._plan: EnrichmentPlan | None = None
        self._slices: PersonSlices | None = None
        self._toggl_view: TogglView | None = None
        self._fetched: FetchedEntries | None = None
        self._index: PackedEntities | None = None
        self._team_index: EntityIndex | None = None
        self._entries_dropped = False
        self._trends: Trends | None = None
        self._loading = threading.Lock()
        """Loads may run in threads (``asyncio.to_thread``): one load of each file at a time."""
        self._comparing = threading.Lock()

    def write_plan(self, ids_by_type: dict[str, list[str]], batch_size: int) -> list[PlannedBatch]:
        batches = [
            PlannedBatch(type_key=type_key, index=i // batch_size, ids=ids[i : i + batch_size])
            for type_key, ids in ids_by_type.items()
            for i in range(0, len(ids), batch_size)
        ]
        self._plan = EnrichmentPlan(batches=batches)
        self._folder.save(PLAN_FILE, self._plan)
        self._index = None
        return batches

    def plan(self) -> EnrichmentPlan:
        with self._loading:
            if self._plan is None:
                self._plan = load_in_pieces(self._folder, PLAN_FILE, EnrichmentPlan)
            return self._plan

    def batch_ids(self, type_key: str, index: int) -> list[str]:
        for batch in self.plan().batches:
            if batch.type_key == type_key and batch.index == index:
                return batch.ids
        raise KeyError(f"no batch {type_key}#{index} in {PLAN_FILE}")

    def save_batch(self, type_key: str, index: int, entities: list[EnrichedEntity]) -> None:
        self._folder.save(
            batch_file(type_key, index),
            EnrichedBatch(type_key=type_key, index=index, entities=entities),
        )
        self._index = None

    def slices(self) -> PersonSlices:
        """The run's people (``toggl_aggregated.json`` read once per worker and run)."""
        with self._loading:
            if self._slices is None or self._entries_dropped:
                self._slices = slices_from_file(self._folder)
                self._entries_dropped = False
            return self._slices

    def slim_aggregate(self) -> TogglAggregated:
        """The aggregate whose groups keep no entries (``PersonSlices.head``)."""
        return self.slices().head

    def keep_fetched(self, fetched: FetchedEntries) -> None:
        """What the fetch on this worker wrote to ``raw_toggl_data.json``, aggregated as it
        went: the aggregate step (on this worker) need not read the file back."""
        with self._loading:
            self._fetched = fetched

    def take_fetched(self) -> FetchedEntries | None:
        """``keep_fetched``'s entries, handed over once (an aggregation is used once: a
        retried aggregate step reads the file)."""
        with self._loading:
            fetched, self._fetched = self._fetched, None
            return fetched

    def keep_aggregate(self, slices: PersonSlices, view: TogglView) -> None:
        """What the aggregate step on this worker made as it wrote ``toggl_aggregated.json``:
        the activities that follow (on this worker) need not read the file back."""
        with self._loading:
            self._slices, self._toggl_view = slices, view

    def toggl_view(self, policy: RoundingPolicy) -> TogglView:
        """The Toggl report's view under ``policy`` (kept from the aggregate step, else made
        in one pass over the people)."""
        slices = self.slices()
        with self._loading:
            view = self._toggl_view
        if view is None or view.policy != policy:
            view = toggl_view(slices.people(), slices.head, policy)
            with self._loading:
                self._toggl_view = view
        return view

    def release(self) -> None:
        """Free what the store holds a piece at a time: for a thread, once the run is done
        with it. One free of the whole graph (every slim person, every entity) would hold the
        GIL, and so the event loop, throughout; between pieces the GIL passes."""
        with self._loading:
            slices, indexes = self._slices, (self._index, self._team_index)
            self._slices = self._toggl_view = self._index = self._team_index = self._plan = None
            self._fetched = None
        with self._comparing:
            self._trends = None
        packed, team = indexes
        if packed is not None:
            packed.clear()
        while team:
            team.popitem()
        if slices is not None:
            people = slices.head.users
            while people:
                people.pop()
            slices.blobs.clear()

    def forget_enrichment(self) -> None:
        """Drop what the Fibery stage loaded (its files are being rewritten); the run's
        people stay: the aggregate does not change within a workflow run."""
        with self._loading:
            self._plan = None
            self._index = self._team_index = None
        with self._comparing:
            self._trends = None

    def trends(self) -> Trends:
        """The aggregate against the previous period's run (``compare_with_previous``, for
        the person reports): compared once, as it reads that run's ``enriched_data.json``,
        not once per group of people."""
        aggregated = self.slim_aggregate()
        with self._comparing:
            if self._trends is None:
                current = EnrichedData(aggregated=aggregated)
                self._trends = compare_with_previous(self._folder, current)
            return self._trends

    def index(self) -> PackedEntities:
        """Every enriched entity of the plan, by ``(type_key, public_id)``, compressed
        (``PackedEntities``: a lookup validates the one entity it returns).

        Each batch file is validated whole from its JSON (a batch is at most a few hundred
        entities, so the GIL is held for milliseconds), then packed and freed."""
        batches = self.plan().batches
        with self._loading:
            if self._index is None:
                self._index = PackedEntities.of(
                    self._folder.load(batch_file(b.type_key, b.index), EnrichedBatch).entities
                    for b in batches
                )
            return self._index

    def team_index(self, fields: Collection[str] = ()) -> EntityIndex:
        """The index for the team report, the run's last reader of it: each entity with only
        what a team report reads (``for_team``: no description, comments or fields but
        ``fields``) replaces the full one as it is made, so the rest is freed before the team
        report builds its tables. Kept for ``release``; the full index and the plan are
        forgotten, so a later ``index()`` (a retry) reads the files again."""
        full = self.index()
        with self._loading:
            if self._index is full:
                self._index = self._plan = None
            self._toggl_view = None  # the Toggl report is written
        team: EntityIndex = {}
        for key in list(full):
            team[key] = for_team(full.pop(key), fields)
        with self._loading:
            self._team_index = team
        return team

    def drop_entries(self) -> None:
        """Free every person's compressed entries once the team pass has read them; the slim
        people stay (for the reports, then ``release``). A later ``slices()`` (a retry)
        reads ``toggl_aggregated.json`` again."""
        with self._loading:
            if self._slices is not None:
                self._slices.blobs.clear()
                self._entries_dropped = True

    def entities_for(self, user: UserAggregate) -> EntityIndex:
        index = self.index()
        wanted = ((m.type_key or UNKNOWN_TYPE, m.entity_id) for m in user.matched)
        return {key: index[key] for key in wanted if key in index}


def for_team(entity: EnrichedEntity, fields: Collection[str] = ()) -> EnrichedEntity:
    """``entity`` as a team report reads it: without its Fibery id (no report shows it),
    description, comment list and fields other than ``fields`` (the estimate's);
    ``comment_count`` kept. Made by ``compact_copy``: a team report keeps tens of thousands
    (a quarter smaller)."""
    kept = {name: value for name, value in entity.fields.items() if name in fields}
    if (
        entity.fibery_id is None
        and not entity.description
        and not entity.comments
        and len(kept) == len(entity.fields)
    ):
        return entity
    dropped: dict[str, object] = {
        "fibery_id": None,
        "description": "",
        "comments": [],
        "fields": kept,
    }
    return compact_copy(entity, dropped)


@dataclass
class _Entry:
    store: EnrichmentStore
    used_at: float


class RunStores:
    """Enrichment stores shared by the activities of one workflow run on this worker.

    Keyed by the workflow run, never by path: a re-run of the same run id is a new workflow
    run, so it starts from the files. An entry is dropped ``idle_seconds`` after its last use
    (a timer on the event loop; a rolling window of person-report groups loads the aggregate
    and the index once), so a finished, failed or cancelled run leaves nothing behind for
    long. At most ``max_runs`` entries are kept; the least recently used goes first.
    """

    def __init__(
        self,
        *,
        idle_seconds: float = 60.0,
        max_runs: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._idle = idle_seconds
        self._max_runs = max_runs
        self._clock = clock
        self._entries: dict[RunKey, _Entry] = {}
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: RunKey, folder: RunFolder) -> EnrichmentStore:
        """The run's store, created on first use."""
        self.expire()
        entry = self._entries.pop(key, None) or _Entry(EnrichmentStore(folder), 0.0)
        entry.used_at = self._clock()
        self._entries[key] = entry
        while len(self._entries) > self._max_runs:
            del self._entries[next(iter(self._entries))]
        self._arm_timer()
        return entry.store

    def pop(self, key: RunKey) -> EnrichmentStore | None:
        """Forget the run and hand over its store (to ``release`` it off the event loop)."""
        entry = self._entries.pop(key, None)
        return None if entry is None else entry.store

    def forget_enrichment(self, key: RunKey) -> None:
        """Forget what the run's Fibery stage loaded (its files are being rewritten)."""
        entry = self._entries.get(key)
        if entry is not None:
            entry.store.forget_enrichment()

    def expire(self) -> None:
        """Drop the entries unused for ``idle_seconds``."""
        now = self._clock()
        for key in [k for k, e in self._entries.items() if now - e.used_at >= self._idle]:
            del self._entries[key]

    def _arm_timer(self) -> None:
        if self._timer is not None or not self._entries:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        oldest = min(e.used_at for e in self._entries.values())
        delay = max(0.0, oldest + self._idle - self._clock())
        self._timer = loop.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.expire()
        self._arm_timer()
