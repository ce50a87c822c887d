"""``PackedFindings``: the team findings kept compressed give back the same findings in both
orders, the top ones and the counts (issue 12, memory), and ``merge_sorted`` is the sort."""

from __future__ import annotations

import random

import pytest

from volt_agent.domain.models import EnrichedData
from volt_agent.reporting import packed_findings
from volt_agent.reporting.digest import team_digest
from volt_agent.reporting.insights import (
    FindingPool,
    Insight,
    index_entities,
    kind_counts,
    rank_insights,
    sort_insights,
    user_insights,
)
from volt_agent.reporting.packed_findings import PackedFindings, merge_sorted

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
    packed = PackedFindings.pack([])
    assert (packed.chunks, len(packed), packed.kinds, packed.top(5)) == ((), 0, (), [])
    assert packed.in_sort_order() == []


def test_a_digest_without_findings_says_so() -> None:
    digest = team_digest(workspace_run(), CONFIGURED)
    without = type(digest)(days=digest.days, packed=None, names=digest.names)
    assert without.packed is None
    with pytest.raises(ValueError, match="insights=True"):
        without.top(3)


def test_merging_each_persons_sorted_findings_is_sorting_them_all(run: EnrichedData) -> None:
    aggregated = run.aggregated
    index = index_entities(run.entities)
    period = (aggregated.start_date, aggregated.end_date)
    pool = FindingPool()
    runs = [user_insights(u, index, CONFIGURED, period, pool=pool) for u in aggregated.users]
    runs = [r for r in runs if r]
    assert len(runs) > 2
    everything = [i for r in runs for i in r]
    assert merge_sorted(runs) == sort_insights(everything)
    shuffled: list[list[Insight]] = [[*r] for r in runs]
    random.Random(7).shuffle(shuffled)  # any order of the runs: ties differ only if equal
    assert merge_sorted(shuffled) == sort_insights(everything)
