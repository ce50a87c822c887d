"""The variant workloads' results in the tables of docs/BENCHMARKS.md (``benchmarks.variant``,
``benchmarks.variant_report``, ``benchmarks.report.table``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from benchmarks.quota_bench import quota_summary, quota_targets
from benchmarks.quota_count import QuotaWindow
from benchmarks.report import table
from benchmarks.variant import RunFacts, base_result, use_llm_server
from benchmarks.workers_bench import workers_targets

HISTORY = {
    "stages": {"toggl_fetch": 200.0},
    "workflow_seconds": 300.0,
    "events": 90,
    "largest_event_bytes": 2048,
    "largest_event_type": "x",
}


def facts(name: str, wall: float, *, workers: int = 1, storage: str = "local") -> RunFacts:
    return RunFacts(
        name=name,
        users=500,
        days=28,
        seed=1,
        run_ids=["r1"],
        wall=wall,
        toggl_stats={"requests": 95, "rate_limited": 0, "quota_exceeded": 0},
        fibery_stats={"requests": 141, "rate_limited": 0},
        history=HISTORY,
        statistics={"toggl": {"entries": 91810}, "enrichment": {"entities": 9773}},
        llm_calls=472,
        worker_rss=300 * 1024 * 1024,
        cli_rss=100 * 1024 * 1024,
        workers=workers,
        storage=storage,
    )


def quota_result(wall: float, windows: list[QuotaWindow]) -> dict[str, Any]:
    result = base_result(facts("org-free", wall), {})
    result["pipeline"]["completed"] = True
    result["quota"] = quota_summary(windows, 30, 60.0)
    result["targets"] = [t.as_dict() for t in quota_targets(result)]
    return result


def test_a_quota_run_is_checked_against_windows_times_window_plus_the_fibery_floor() -> None:
    windows = [QuotaWindow(0, 30, 1), QuotaWindow(60, 30, 0), QuotaWindow(120, 30, 0)]
    windows.append(QuotaWindow(180, 5, 0))
    result = quota_result(300.0, windows)
    quota = result["quota"]
    assert (quota["workspace_requests"], quota["windows_needed"], quota["extra_402"]) == (95, 4, 0)
    assert quota["quota_floor_seconds"] == 240.0
    assert result["floor"]["fibery_seconds"] == 47.0
    limits = {t["name"]: (t["limit"], t["passed"]) for t in result["targets"]}
    assert limits["wall <= 1.1 x (max(windows x window, Toggl floor) + Fibery floor) (s)"] == (
        round(1.1 * (240 + 47), 1),
        True,
    )
    slow = quota_result(320.0, [*windows[:-1], QuotaWindow(180, 5, 3)])
    assert [t["passed"] for t in slow["targets"]] == [True, False, False]


def test_the_tables_show_workers_storage_and_the_variant_tables() -> None:
    quota = quota_result(300.0, [QuotaWindow(0, 30, 0), QuotaWindow(60, 30, 0)])
    workers = base_result(facts("team-3w", 74.3, workers=3, storage="s3"), {})
    leg = {
        "run_ids": ["a", "b", "c"],
        "wall_seconds": 74.3,
        "run_wall_seconds": [73.2, 73.1, 74.3],
        "floor_seconds": 70.3,
        "wall_ratio": 1.056,
        "rate_limited": 0,
        "completed": 3,
    }
    workers["legs"] = {"local": leg, "s3": leg}
    workers["storage_cost"] = {"added_seconds_per_run": -2.2, "bucket_requests_per_run_mean": 210}
    workers["targets"] = [t.as_dict() for t in workers_targets(workers)]
    soak = {"measured_at": "x", "runs": 20, "passed": True}  # another shape: left out

    text = table([quota, workers, soak])

    assert "| org-free | 500 x 28 | 1 | local | 91810 |" in text
    assert "| team-3w | 500 x 28 | 3 | s3 |" in text
    assert "| org-free | 30 / 60 s | quota | 60 | 2 / 2 | 120 |" in text
    assert "| team-3w | s3 | 3 | 74.3 | 73.2, 73.1, 74.3 | 70.3 | 1.06 | 0 | 210 | -2.2 |" in text
    assert "| team-3w | wall / rate-limit floor (S3) |" in text
    assert "| — | — | — | — |" in text  # no original strategy, no request reduction


def test_the_fake_llm_server_opts_the_config_into_the_llm_writer(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"llm": {"provider": "template"}, "toggl": {}}))
    use_llm_server(config, None)
    assert yaml.safe_load(config.read_text())["llm"]["provider"] == "template"
    use_llm_server(config, "http://127.0.0.1:1/v1")
    assert yaml.safe_load(config.read_text()) == {"llm": {"provider": "openai"}, "toggl": {}}
