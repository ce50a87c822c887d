"""The request formula the benchmark checks (``benchmarks.formula``)."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from benchmarks.formula import (
    FiberyFormula,
    TogglFormula,
    formula_check,
    formula_lines,
    refused_page_sizes,
)


@pytest.mark.parametrize(
    ("granted", "mode", "refused"),
    [
        (1000, "reject", 0),
        (200, "reject", 1),
        (50, "reject", 2),
        (200, "clamp", 0),
        (50, "clamp", 0),
    ],
)
def test_a_refusing_server_costs_one_request_per_step_a_clamping_one_none(
    granted: int, mode: str, refused: int
) -> None:
    assert refused_page_sizes(1000, granted, mode) == refused


def test_a_configured_size_off_the_steps_is_refused_before_the_steps() -> None:
    assert refused_page_sizes(500, 200, "reject") == 1  # 500, then 200
    assert refused_page_sizes(500, 50, "reject") == 2  # 500, 200, then 50


@pytest.mark.parametrize(
    ("rows", "page_size", "pages"),
    [(2276, 200, 12), (2276, 1000, 3), (2276, 50, 46), (200, 200, 1), (201, 200, 2), (0, 200, 1)],
)
def test_toggl_is_the_pages_plus_users_me_and_totals(rows: int, page_size: int, pages: int) -> None:
    formula = TogglFormula(rows=rows, page_size=page_size)
    assert formula.pages == pages
    assert formula.expected == pages + 3


def test_refusals_and_more_windows_add_their_requests() -> None:
    refused = TogglFormula(rows=450, page_size=200, refused=1)
    assert refused.expected == 3 + 1 + 3
    two_windows = TogglFormula(rows=450, page_size=200, windows=2)
    assert two_windows.pages == 4  # at most one short page more per extra window
    assert two_windows.expected == 4 + 2 + 2  # users, /me, one totals per window


def test_fibery_range_spans_all_merged_to_nothing_merged() -> None:
    formula = FiberyFormula(batches=8, documents=739, document_batch=50)
    assert formula.document_calls == 15
    assert formula.lowest == 1 + 1 + 15
    assert formula.highest == 1 + 8 + 15 + 7
    assert formula.holds(20)
    assert not formula.holds(16)
    assert not formula.holds(32)
    assert FiberyFormula(batches=3, documents=0, document_batch=50).highest == 1 + 3


def test_the_unmerged_document_calls_never_exceed_the_highest() -> None:
    """``sum(ceil(D_i / b)) <= ceil(D / b) + Q - 1`` for any split of D documents in Q batches."""
    rng = random.Random(12)
    for _ in range(500):
        batches = rng.randint(1, 12)
        counts = [rng.randint(0, 400) for _ in range(batches)]
        batch = rng.choice([7, 50, 100, 500])
        unmerged = sum(math.ceil(c / batch) for c in counts)
        formula = FiberyFormula(batches=batches, documents=sum(counts), document_batch=batch)
        queries = batches  # nothing merged
        assert 1 + queries + unmerged <= formula.highest


def test_every_query_merge_lies_in_the_range() -> None:
    for batches, per_request in itertools.product(range(1, 25), range(1, 11)):
        formula = FiberyFormula(batches=batches, documents=0, document_batch=50)
        assert formula.lowest <= 1 + math.ceil(batches / per_request) <= formula.highest


def test_the_check_passes_only_when_both_apis_match() -> None:
    toggl = TogglFormula(rows=2276, page_size=200)
    fibery = FiberyFormula(batches=8, documents=739, document_batch=50)
    assert formula_check(toggl, 15, fibery, 20)["passed"]
    off_by_one = formula_check(toggl, 16, fibery, 20)
    assert not off_by_one["passed"]
    assert not off_by_one["toggl"]["passed"]
    assert off_by_one["fibery"]["passed"]
    assert not formula_check(toggl, 15, fibery, 40)["passed"]
    lines = formula_lines(off_by_one)
    assert lines[0].startswith("FAIL")
    assert "= 15; measured 16" in lines[0]
    assert lines[1].startswith("PASS")
    assert "17..31" in lines[1]
