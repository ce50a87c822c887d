"""A run's team findings kept compressed, from the team pass to the reports (issue 12).

A team report at org scale has tens of thousands of findings (31k at 1,000 people), about
0.6 KB each as models. None of them is held as a model for long:

- ``FindingRuns`` keeps each person's findings as the team pass makes them: their field
  values (``_Row``), pickled and zlib-compressed, one blob per person and kind;
- ``FindingRuns.pack`` merges the people's runs a band at a time: ``sort_insights`` orders
  by kind, then by time, so a kind's findings within a range of times (about ``BAND`` of
  them) are all unpacked, filtered from every person's run of that kind, and merged before
  the next band's. It writes ``PackedFindings``: the findings in ``sort_insights`` order,
  ``CHUNK`` rows per compressed chunk. (Merged a kind at a time, the largest kind, over
  half of the findings at 1,000 people, cost 13 MiB of unpacked rows at once.)
- ``PackedFindings.ranked`` gives them in ``rank_insights`` order, a chunk per kind in
  memory at a time: within a severity that order is the kinds' runs merged by time
  (``rank_sorted`` is a stable sort by severity and time of the ``sort_insights`` order,
  and each kind's run is in time order already).

Pickle, not JSON: the blobs never leave the process. Rows are read back through a
``FindingPool``. Pure.
"""

from __future__ import annotations

import heapq
import pickle
import zlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby, islice
from operator import itemgetter

from volt_agent.reporting.insights import (
    KIND_ORDER,
    KIND_SEVERITY,
    SEVERITY_ORDER,
    FindingPool,
    Insight,
    InsightKind,
    finding_sort_key,
)

CHUNK = 256
"""Findings per compressed chunk of ``PackedFindings``."""
BAND = 4096
"""Findings unpacked at once while the runs are merged (more when that many take the same
time)."""
COMPRESSION_LEVEL = 1

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


def _row_sort_key(row: _Row) -> tuple[object, ...]:
    return finding_sort_key(row[0], row[6], row[2], row[4], row[1])


def _by_time(row: _Row) -> int:
    return -row[6]


def _pack_rows(rows: list[_Row]) -> bytes:
    return zlib.compress(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL), COMPRESSION_LEVEL)


def _unpack_rows(blob: bytes) -> list[_Row]:
    rows: list[_Row] = pickle.loads(zlib.decompress(blob))  # noqa: S301 - ours, in-process
    return rows


@dataclass(frozen=True)
class PackedFindings:
    chunks: tuple[bytes, ...]
    """The findings in ``sort_insights`` order, ``CHUNK`` per entry."""
    kinds: tuple[tuple[InsightKind, int], ...]
    """``kind_counts`` of the findings: in ``KIND_ORDER``, so also each kind's run."""

    @classmethod
    def of_rows(cls, rows: Iterable[_Row]) -> PackedFindings:
        """Rows in ``sort_insights`` order (``FindingRuns.pack`` makes them)."""
        chunks: list[bytes] = []
        kinds: list[tuple[InsightKind, int]] = []
        pending: list[_Row] = []
        for row in rows:
            if kinds and kinds[-1][0] == row[0]:
                kinds[-1] = (row[0], kinds[-1][1] + 1)
            else:
                kinds.append((row[0], 1))
            pending.append(row)
            if len(pending) == CHUNK:
                chunks.append(_pack_rows(pending))
                pending = []
        if pending:
            chunks.append(_pack_rows(pending))
        return cls(tuple(chunks), tuple(kinds))

    def __len__(self) -> int:
        return sum(count for _, count in self.kinds)

    def ranked(self) -> Iterator[Insight]:
        """Most important first (``rank_insights`` order), unpacked a chunk per kind at a time."""
        runs: dict[InsightKind, tuple[int, int]] = {}
        start = 0
        for kind, count in self.kinds:
            runs[kind] = (start, start + count)
            start += count
        pool = FindingPool()
        for severity in SEVERITY_ORDER:
            kinds = [k for k in KIND_ORDER if k in runs and KIND_SEVERITY[k] == severity]
            merged = heapq.merge(*(self._rows(*runs[k]) for k in kinds), key=_by_time)
            yield from (_insight(pool, row) for row in merged)

    def top(self, limit: int) -> list[Insight]:
        """The ``limit`` most important findings."""
        return list(islice(self.ranked(), limit))

    def in_sort_order(self) -> list[Insight]:
        """Every finding in ``sort_insights`` order (all in memory: for the LLM's context)."""
        pool = FindingPool()
        return [_insight(pool, row) for row in self._rows(0, len(self))]

    def _rows(self, start: int, stop: int) -> Iterator[_Row]:
        """Rows ``start`` to ``stop`` of the sort order, one chunk unpacked at a time."""
        first = start // CHUNK
        for number in range(first, -(-stop // CHUNK)):
            offset = number * CHUNK
            rows = _unpack_rows(self.chunks[number])
            yield from rows[max(start - offset, 0) : stop - offset]


def _insight(pool: FindingPool, row: _Row) -> Insight:
    kind, message, person, user_id, key, entity_name, seconds = row
    return pool.insight(
        kind,
        message,
        person=person,
        user_id=user_id,
        entity=None if key is None else pool.key(*key),
        entity_name=entity_name,
        seconds=seconds,
    )


class FindingRuns:
    """Each person's findings, compressed per kind until ``pack`` merges them."""

    def __init__(self) -> None:
        self._runs: dict[InsightKind, list[bytes]] = {}
        self._seconds: dict[InsightKind, array[int]] = {}
        """Every finding's time, per kind: where ``pack``'s bands start and end."""

    def add(self, ordered: Sequence[Insight]) -> None:
        """One person's findings, in ``sort_insights`` order."""
        for kind, findings in groupby(map(_row, ordered), key=itemgetter(0)):
            rows = list(findings)
            self._runs.setdefault(kind, []).append(_pack_rows(rows))
            self._seconds.setdefault(kind, array("q")).extend(row[6] for row in rows)

    def pack(self, last: Sequence[Insight] = ()) -> PackedFindings:
        """Every run added, then ``last`` (in ``sort_insights`` order), merged into one
        ``sort_insights`` order: equal findings keep the order they were added in. The
        runs are forgotten a kind at a time as they are merged."""
        tail = {kind: list(rows) for kind, rows in groupby(map(_row, last), key=itemgetter(0))}
        return PackedFindings.of_rows(self._merged(tail))

    def _merged(self, tail: dict[InsightKind, list[_Row]]) -> Iterator[_Row]:
        for kind in KIND_ORDER:
            blobs = self._runs.pop(kind, [])
            last = tail.pop(kind, [])
            seconds = self._seconds.pop(kind, array("q"))
            seconds.extend(row[6] for row in last)
            for longest, shortest in _bands(seconds):
                runs = [_within(_unpack_rows(blob), longest, shortest) for blob in blobs]
                runs.append(_within(last, longest, shortest))
                yield from heapq.merge(*runs, key=_row_sort_key)


def _within(rows: list[_Row], longest: int, shortest: int) -> list[_Row]:
    return [row for row in rows if shortest <= row[6] <= longest]


def _bands(seconds: array[int]) -> list[tuple[int, int]]:
    """Ranges of times, longest first, each holding about ``BAND`` of ``seconds`` and every
    finding of the times it spans."""
    ordered = sorted(seconds, reverse=True)
    bands = []
    start = 0
    while start < len(ordered):
        shortest = ordered[min(start + BAND, len(ordered)) - 1]
        end = start + BAND
        while end < len(ordered) and ordered[end] == shortest:
            end += 1
        bands.append((ordered[start], shortest))
        start = end
    return bands
