"""Issue 12's wall-time, CPU and event-loop targets and their table in docs/BENCHMARKS.md."""

from __future__ import annotations

from typing import Any

from benchmarks.report import time_targets
from benchmarks.resource_report import resource_rows


def result(workload: str, wall: float, floor: float, **pipeline: Any) -> dict[str, Any]:
    return {
        "workload": workload,
        "pipeline": {"wall_seconds": wall, "llm": {"seconds": 2.0}, "entries": 90_000, **pipeline},
        "floor": {"seconds": floor},
    }


def verdicts(workload: str, data: dict[str, Any]) -> dict[str, tuple[float, float, bool]]:
    return {t.name: (t.value, t.limit, t.passed) for t in time_targets(workload, data)}


def cpu(total: float) -> dict[str, Any]:
    return {
        "non_api_cpu_seconds": total,
        "cpu_seconds_per_10k_entries": round(total / 9, 2),
        "stages": {"fetch": {"cpu_seconds": total, "peak_rss_mib": 300.0, "seconds": 100.0}},
    }


def loop(ms: float) -> dict[str, Any]:
    return {
        "max_block_ms": ms,
        "below_threshold": False,
        "loop_cpu_ms": ms / 2,
        "stage": "fetch",
        "where": "volt_agent/x.py:1 f",
    }


def test_small_may_take_two_seconds_over_the_floor() -> None:
    assert verdicts("small", result("small", 9.9, 8.0)) == {
        "wall - rate-limit floor (s)": (1.9, 2.0, True)
    }
    assert not verdicts("small", result("small", 10.1, 8.0))["wall - rate-limit floor (s)"][2]


def test_team_may_take_1_15_times_the_floor_plus_llm_time_and_stall_under_100_ms() -> None:
    found = verdicts("team", result("team", 26.0, 20.0, event_loop=loop(99.0)))
    assert found["wall <= 1.15 x rate-limit floor + LLM time (s)"] == (26.0, 25.0, False)
    assert found["longest event-loop block of the worker, one callback (ms)"] == (99.0, 100.0, True)


def test_org_worker_cpu_must_stay_under_20_s() -> None:
    found = verdicts("org", result("org", 400.0, 380.0, cpu=cpu(19.9), event_loop=loop(100.0)))
    assert found["worker CPU of the run, non-API work's upper bound (s)"] == (19.9, 20.0, True)
    assert found["longest event-loop block of the worker, one callback (ms)"][2] is False
    assert not verdicts("org", result("org", 1.0, 1.0, cpu=cpu(20.0)))[
        "worker CPU of the run, non-API work's upper bound (s)"
    ][2]


def test_results_without_measurements_get_no_cpu_or_loop_target() -> None:
    assert list(verdicts("org", result("org", 400.0, 380.0))) == []


def test_the_table_has_a_row_per_measured_workload_with_cpu_and_rss_per_stage() -> None:
    rows = resource_rows(
        [
            result("team", 20.0, 19.0, cpu=cpu(2.25), event_loop=loop(42.0)),
            result("old", 20.0, 19.0),  # measured before CPU was: no row
        ]
    )
    table = [r for r in rows if r.startswith("| ")]
    assert len(table) == 2  # the header and team
    assert table[1].startswith("| team | 90000 | 2.2 | 0.2 | 2.2 / 300 | — |")
    assert table[1].endswith("| 42 | 21 | 0 | fetch `volt_agent/x.py:1 f` |")
    assert resource_rows([result("old", 1.0, 1.0)]) == []
