"""The extra tables of ``docs/BENCHMARKS.md`` for the variant workloads: quota-bound runs
(``quota_bench``) and several workers with object storage (``workers_bench``)."""

from __future__ import annotations

from typing import Any


def quota_rows(results: list[dict[str, Any]]) -> list[str]:
    """A table of the results that carry ``quota`` facts; nothing when none does."""
    quota_results = [r for r in results if "quota" in r]
    if not quota_results:
        return []
    rows = [
        "**Quota-bound runs** (Toggl's hourly quota in compressed windows)",
        "",
        "| workload | quota / window | binds | workspace req | windows used / needed "
        "| windows x window (s) | rate floor (s) | wall (s) | 402s | extra 402s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in quota_results:
        quota, pipeline = result["quota"], result["pipeline"]
        rows.append(
            f"| {result['workload']} | {quota['quota']} / {quota['window_seconds']:g} s"
            f" | {'quota' if quota['quota_binds'] else 'rate'} | {quota['workspace_requests']}"
            f" | {quota['windows_used']} / {quota['windows_needed']}"
            f" | {quota['quota_floor_seconds']:g} | {result['floor']['seconds']:.1f}"
            f" | {pipeline['wall_seconds']:.1f} | {quota['refused_402']} | {quota['extra_402']} |"
        )
    return [*rows, ""]


def storage_rows(results: list[dict[str, Any]]) -> list[str]:
    """A table of the results that compare local disk with a bucket; nothing when none does."""
    compared = [r for r in results if "storage_cost" in r and "legs" in r]
    if not compared:
        return []
    rows = [
        "**Several workers: local disk vs S3 bucket** (runs side by side)",
        "",
        "| workload | storage | runs | wall (s) | run walls (s) | floor (s) | wall / floor "
        "| 429s | bucket req per run | added s per run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in compared:
        cost = result["storage_cost"]
        for name, leg in result["legs"].items():
            is_bucket = name != "local"
            walls = ", ".join(f"{w:.1f}" for w in leg["run_wall_seconds"])
            requests = f"{cost['bucket_requests_per_run_mean']:g}" if is_bucket else "—"
            added = f"{cost['added_seconds_per_run']:+.1f}" if is_bucket else "—"
            rows.append(
                f"| {result['workload']} | {name} | {len(leg['run_ids'])}"
                f" | {leg['wall_seconds']:.1f} | {walls} | {leg['floor_seconds']:.1f}"
                f" | {leg['wall_ratio']:.2f} | {leg['rate_limited']} | {requests} | {added} |"
            )
    return [*rows, ""]
