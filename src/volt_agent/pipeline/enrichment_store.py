"""Enrichment files of one run: the batch plan, one file per enriched batch, and a cached
index of them for the person reports and ``save_enriched_data``.

Batch files are written atomically by the activity that produced them, so a batch retried
after a crash simply overwrites its own file (at-least-once safe).
"""

from __future__ import annotations

import re
from collections import Counter

from pydantic import Field

from volt_agent.domain.aggregation import UNKNOWN_TYPE
from volt_agent.domain.models import EnrichedEntity, Model, TogglAggregated, UserAggregate
from volt_agent.storage.run_folder import ENRICHMENT_PARTS_DIR, TOGGL_AGGREGATED, RunFolder

PLAN_FILE = f"{ENRICHMENT_PARTS_DIR}/plan.json"
EntityIndex = dict[tuple[str, str], EnrichedEntity]


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
        self._aggregated: TogglAggregated | None = None
        self._index: EntityIndex | None = None

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
        if self._plan is None:
            self._plan = self._folder.load(PLAN_FILE, EnrichmentPlan)
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

    def aggregated(self) -> TogglAggregated:
        if self._aggregated is None:
            self._aggregated = self._folder.load(TOGGL_AGGREGATED, TogglAggregated)
        return self._aggregated

    def index(self) -> EntityIndex:
        """Every enriched entity of the plan, by ``(type_key, public_id)``."""
        if self._index is None:
            index: EntityIndex = {}
            for batch in self.plan().batches:
                part = self._folder.load(batch_file(batch.type_key, batch.index), EnrichedBatch)
                for entity in part.entities:
                    index[(entity.type_key, entity.public_id)] = entity
            self._index = index
        return self._index

    def entities_for(self, user: UserAggregate) -> EntityIndex:
        index = self.index()
        wanted = ((m.type_key or UNKNOWN_TYPE, m.entity_id) for m in user.matched)
        return {key: index[key] for key in wanted if key in index}

    def all_entities(self) -> list[EnrichedEntity]:
        return list(self.index().values())

    def counts_by_type(self) -> dict[str, dict[str, int]]:
        counts: dict[str, Counter[str]] = {}
        for entity in self.index().values():
            counts.setdefault(entity.type_key, Counter())[entity.status] += 1
        return {key: dict(sorted(c.items())) for key, c in sorted(counts.items())}
