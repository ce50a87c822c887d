"""``PackedFindings``: the team findings kept compressed give back the same findings in both
orders, the top ones and the counts (issue 12, memory), and ``FindingRuns`` merging each
person's findings is the sort."""

from __future__ import annotations

import random
from array import array

import pytest

from volt_agent.domain.models import EnrichedData
from volt_agent.reporting import packed_findings
from volt_agent.reporting.digest import team_digest
from volt_agent.reporting.insights import (
    KIND_ORDER,
    FindingPool,
    Insight,
    index_entities,
    kind_counts,
    rank_insights,
    sort_insights,
    user_insights,
)
from volt_agent.reporting.packed_findings import FindingRuns

from .test_digest import CONFIGURED, workspace_run
from .test_finding_pool import findings


@pytest.fixture(scope="module")
def run() -> EnrichedData:
    return workspace_run()


def test_a_digest_gives_back_its_findings_in_both_orders(
    run: EnrichedData, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packed_findings, "CHUNK", 7)  # many chunks, a short last one
    digest = team_digest(run, CONFIGURED)
    plain = findings(run, CONFIGURED, None)
    assert len(plain) > 3 * 7
    assert digest.packed is not None
    assert len(digest.packed.chunks) == -(-len(plain) // 7)
    assert digest.findings() == plain
    assert list(digest.iter_ranked()) == rank_insights(plain)
    assert digest.top(10) == rank_insights(plain)[:10]
    assert digest.top(10 * len(plain)) == rank_insights(plain)
    assert digest.finding_count() == len(plain)
    assert digest.kinds() == tuple(kind_counts(plain))


def test_no_findings_pack_to_nothing() -> None:
    packed = FindingRuns().pack()
    assert (packed.chunks, len(packed), packed.kinds, packed.top(5)) == ((), 0, (), [])
    assert packed.in_sort_order() == []


def test_a_digest_without_findings_says_so() -> None:
    digest = team_digest(workspace_run(), CONFIGURED)
    without = type(digest)(days=digest.days, packed=None, names=digest.names)
    assert without.packed is None
    with pytest.raises(ValueError, match="insights=True"):
        without.top(3)


def merged(runs: list[list[Insight]], last: list[Insight] | None = None) -> list[Insight]:
    packing = FindingRuns()
    for found in runs:
        packing.add(found)
    return packing.pack(last or []).in_sort_order()


@pytest.mark.parametrize("band", [4096, 3])
def test_merging_each_persons_sorted_findings_is_sorting_them_all(
    run: EnrichedData, monkeypatch: pytest.MonkeyPatch, band: int
) -> None:
    monkeypatch.setattr(packed_findings, "CHUNK", 5)
    monkeypatch.setattr(packed_findings, "BAND", band)  # 3: many bands, ties across them
    aggregated = run.aggregated
    index = index_entities(run.entities)
    period = (aggregated.start_date, aggregated.end_date)
    pool = FindingPool()
    runs = [user_insights(u, index, CONFIGURED, period, pool=pool) for u in aggregated.users]
    runs = [r for r in runs if r]
    assert len(runs) > 2
    everything = [i for r in runs for i in r]
    assert len({i.kind for i in everything}) > 2
    assert merged(runs) == sort_insights(everything)
    shuffled: list[list[Insight]] = [[*r] for r in runs]
    random.Random(7).shuffle(shuffled)  # any order of the runs: ties differ only if equal
    assert merged(shuffled) == sort_insights(everything)
    *people, last = runs
    assert merged(people, last) == sort_insights(everything)


def test_equal_findings_keep_the_order_they_were_added_in() -> None:
    pool = FindingPool()
    first, second = (pool.insight("overtime", "same", person="Ann", user_id=u) for u in (1, 2))
    assert first == first.model_copy(update={"user_id": 1})
    assert [f.user_id for f in merged([[first], [second]])] == [1, 2]
    assert [f.user_id for f in merged([[second]], [first])] == [2, 1]


def test_the_runs_are_unpacked_one_kind_at_a_time(
    run: EnrichedData, monkeypatch: pytest.MonkeyPatch
) -> None:
    unpacked: list[str] = []
    unpack = packed_findings._unpack_rows

    def recording(blob: bytes) -> list[tuple[object, ...]]:
        rows = unpack(blob)
        unpacked.extend({row[0] for row in rows})
        return rows  # type: ignore[return-value]

    packing = FindingRuns()
    aggregated = run.aggregated
    index = index_entities(run.entities)
    period = (aggregated.start_date, aggregated.end_date)
    for user in aggregated.users:
        packing.add(user_insights(user, index, CONFIGURED, period))
    monkeypatch.setattr(packed_findings, "_unpack_rows", recording)
    packing.pack()
    ranks = [KIND_ORDER.index(kind) for kind in unpacked]  # type: ignore[arg-type]
    assert len(set(ranks)) > 2
    assert ranks == sorted(ranks)


def test_bands_cover_every_time_longest_first_and_keep_equal_times_together(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(packed_findings, "BAND", 2)
    seconds = array("q", [3, 5, 1, 5, 2, 5, 3])
    assert packed_findings._bands(seconds) == [(5, 5), (3, 3), (2, 1)]
    assert packed_findings._bands(array("q")) == []
    monkeypatch.setattr(packed_findings, "BAND", 4)
    assert packed_findings._bands(seconds) == [(5, 3), (2, 1)]
