"""A run's team findings kept compressed between the team pass and the reports (issue 12).

A team report at org scale has tens of thousands of findings, about 0.6 KB each as models:
held as models, they were the largest thing the team report kept while it wrote the
Markdown and the page. ``PackedFindings`` keeps them in ranked order (``rank_sorted``'s),
pickled and zlib-compressed a chunk at a time, with the position of each in
``sort_insights`` order and the counts per kind: the Markdown reads the top few, the page
reads them a chunk at a time as it is streamed. Each chunk is a pickled list of the
findings' field values (pickle, not JSON: the chunks never leave the process), read back
through a ``FindingPool``. Pure.
"""

from __future__ import annotations

import heapq
import pickle
import zlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

from volt_agent.reporting.insights import (
    FindingPool,
    Insight,
    InsightKind,
    insight_rank_key,
    insight_sort_key,
    kind_counts,
)

CHUNK = 1024
"""Findings per compressed chunk."""
COMPRESSION_LEVEL = 1


def merge_sorted(runs: Iterable[Sequence[Insight]]) -> list[Insight]:
    """``sort_insights`` of the concatenated ``runs``, each in that order already (one
    person's findings): merged, so sort keys exist for one finding per run at a time, not
    for every finding at once (heapq.merge is stable, as the sort is)."""
    return list(heapq.merge(*runs, key=insight_sort_key))


_Row = tuple[InsightKind, str, str | None, int | None, tuple[str, str] | None, str | None, int]
"""An ``Insight``'s fields, its entity as ``(type_key, public_id)``: plain values pickle and
unpickle several times faster than models."""


def _row(finding: Insight) -> _Row:
    entity = finding.entity
    return (
        finding.kind,
        finding.message,
        finding.person,
        finding.user_id,
        None if entity is None else (entity.type_key, entity.public_id),
        finding.entity_name,
        finding.seconds,
    )


@dataclass(frozen=True)
class PackedFindings:
    chunks: tuple[bytes, ...]
    """The findings in ranked order, ``CHUNK`` per entry."""
    sort_order: array[int]
    """``sort_order[i]``: the ranked position of the ``i``-th finding in sorted order."""
    kinds: tuple[tuple[InsightKind, int], ...]
    """``kind_counts`` of the findings."""

    @classmethod
    def pack(cls, ordered: Sequence[Insight]) -> PackedFindings:
        """Findings in ``sort_insights`` order."""
        by_rank = sorted(range(len(ordered)), key=lambda i: insight_rank_key(ordered[i]))
        sort_order = array("L", [0]) * len(by_rank)
        for rank, position in enumerate(by_rank):
            sort_order[position] = rank
        chunks = tuple(
            zlib.compress(
                pickle.dumps(
                    [_row(ordered[i]) for i in by_rank[start : start + CHUNK]],
                    protocol=pickle.HIGHEST_PROTOCOL,
                ),
                COMPRESSION_LEVEL,
            )
            for start in range(0, len(by_rank), CHUNK)
        )
        return cls(chunks, sort_order, tuple(kind_counts(ordered)))

    def __len__(self) -> int:
        return len(self.sort_order)

    def ranked(self) -> Iterator[Insight]:
        """Most important first (``rank_insights`` order), a chunk in memory at a time."""
        pool = FindingPool()
        for chunk in self.chunks:
            rows: list[_Row] = pickle.loads(zlib.decompress(chunk))  # noqa: S301 - ours
            for kind, message, person, user_id, key, entity_name, seconds in rows:
                yield pool.insight(
                    kind,
                    message,
                    person=person,
                    user_id=user_id,
                    entity=None if key is None else pool.key(*key),
                    entity_name=entity_name,
                    seconds=seconds,
                )

    def top(self, limit: int) -> list[Insight]:
        """The ``limit`` most important findings."""
        return list(islice(self.ranked(), limit))

    def in_sort_order(self) -> list[Insight]:
        """Every finding in ``sort_insights`` order (all in memory: for the LLM's context)."""
        ranked = list(self.ranked())
        return [ranked[rank] for rank in self.sort_order]
