"""The request formula applied to a run's statistics, its table rows and its targets."""

from __future__ import annotations

from typing import Any

from benchmarks.peer_strategy import PeerResult
from benchmarks.request_check import (
    granted_document_batch,
    request_facts,
    request_formula,
    with_page_cap,
)
from benchmarks.request_report import formula_rows, peer_rows, request_targets

from volt_agent.sandbox import TogglSimulatorOptions

CONFIG = {
    "toggl": {"page_size": 1000, "max_range_days": 366},
    "fibery": {"document_batch_size": 50},
}


def meta(rows: int = 2276, page_size: int | None = 200) -> dict[str, Any]:
    return {
        "statistics": {
            "toggl": {
                "page_size": page_size,
                "statistics": {"rows_received": rows},
                "completeness": {"start_date": "2026-11-15", "end_date": "2026-11-23"},
            },
            "enrichment_batches": {"batches": 8},
        }
    }


TOGGL = {"requests": 15, "rate_limited": 0}
FIBERY = {"requests": 20, "rate_limited": 0, "fibery.documents_served": 739}


def test_the_run_statistics_give_the_formula() -> None:
    check = request_formula(meta(), TOGGL, FIBERY, config=CONFIG)
    assert check["toggl"]["expected"] == 12 + 3
    assert check["toggl"]["refused"] == 0  # the simulator clamps by default
    assert (check["fibery"]["lowest"], check["fibery"]["highest"]) == (17, 31)
    assert check["passed"]


def test_a_refusing_server_and_429s_are_accounted_apart() -> None:
    refused = request_formula(meta(), TOGGL, FIBERY, page_size_mode="reject", config=CONFIG)
    assert refused["toggl"]["expected"] == 12 + 1 + 3
    assert not refused["passed"]
    with_429 = request_formula(meta(), {"requests": 17, "rate_limited": 2}, FIBERY, config=CONFIG)
    assert with_429["toggl"]["measured"] == 15
    assert with_429["passed"]


def test_a_run_without_a_recorded_page_size_is_read_at_the_configured_one() -> None:
    check = request_formula(meta(rows=2276, page_size=None), TOGGL, FIBERY, config=CONFIG)
    assert check["toggl"]["page_size"] == 1000
    assert check["toggl"]["expected"] == 3 + 3


def test_the_page_cap_switch_changes_only_the_cap() -> None:
    options = TogglSimulatorOptions()
    assert with_page_cap(options, None) is options
    capped = with_page_cap(options, 1000)
    assert capped.max_page_size == 1000
    assert capped.page_size_mode == options.page_size_mode


def result(workload: str, toggl_measured: int, reduction: float) -> dict[str, Any]:
    peer = PeerResult(
        "run", toggl_requests=47, pages=46, totals_requests=1, rows=2276, wall_seconds=57.0
    )
    toggl = {"requests": toggl_measured, "rate_limited": 0}
    facts = request_facts(meta(), toggl, FIBERY, 14.2, peer, page_cap=200, config=CONFIG)
    return {
        "workload": workload,
        "pipeline": {"toggl_requests": toggl_measured, "fibery_requests": 20, "wall_seconds": 27.0},
        "original": {"mode": "run", "toggl_requests": 50, "requests": 292, "wall_seconds": 130.0},
        "request_reduction": reduction,
        **facts,
    }


def test_team_has_the_formula_and_the_20x_targets() -> None:
    targets = request_targets("team", result("team", 15, 8.3))
    passing = {name: (value, limit, cmp) for name, value, limit, cmp in targets}
    assert passing["Toggl requests: |measured - formula|"] == (0, 0, "<=")
    assert passing["Fibery requests outside the formula's range"] == (0, 0, "<=")
    assert passing["API requests: original / volt-agent"] == (8.3, 20, ">=")
    small = request_targets("small", result("small", 16, 3.0))
    off = {name: value for name, value, _, _ in small}
    assert off["Toggl requests: |measured - formula|"] == 1
    assert "API requests: original / volt-agent" not in off


def test_the_tables_put_the_three_strategies_side_by_side() -> None:
    results = [result("team", 15, 8.3)]
    formula = formula_rows(results)
    row = "| team | 200 | 100 | 2276 | 200 | 15 | 15 | 8 | 739 | 17..31 | 20 | **PASS** |"
    assert row in formula
    side = peer_rows(results)
    assert "| team | 15 | 14.2 | 35 | 27.0 | 50 | 292 | 130.0 | 47 | 57.0 | 3.1x |" in side
    assert formula_rows([{"workload": "x"}]) == []


def test_a_documents_cap_leads_the_client_down_the_steps() -> None:
    assert granted_document_batch(500, 100) == 100
    assert granted_document_batch(500, 150) == 100
    assert granted_document_batch(500, None) == 500
    assert granted_document_batch(50, 8) == 7  # 50, 25, 13, 7
    config = {**CONFIG, "fibery": {"document_batch_size": 500}}
    check = request_formula(meta(), TOGGL, FIBERY, documents_cap=100, config=config)
    fibery = check["fibery"]
    assert (fibery["document_calls"], fibery["granted"]) == (2, 100)
    assert (fibery["lowest"], fibery["highest"]) == (1 + 1 + 2, 1 + 8 + 8 + 7)
