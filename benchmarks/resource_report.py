"""The ``docs/BENCHMARKS.md`` table of the worker's CPU, memory and event loop per stage."""

from __future__ import annotations

from typing import Any

from benchmarks.resources import OTHER, STAGES

STAGE_TITLES = {
    "fetch": "fetch",
    "aggregate_toggl_report": "aggregate + Toggl report",
    "enrich": "enrich",
    "person_reports": "person reports",
    "team_report": "team report",
    OTHER: "other",
}


def resource_rows(results: list[dict[str, Any]]) -> list[str]:
    """CPU seconds / peak RSS per stage and the longest event-loop stall of each workload;
    nothing when no result has them."""
    found = [r for r in results if r["pipeline"].get("cpu")]
    if not found:
        return []
    stages = [name for name, _ in STAGES] + [OTHER]
    rows = [
        "**Worker CPU and memory per stage** (user+sys CPU seconds / peak `VmRSS` MiB of the"
        " worker process, sampled every 0.1 s and split over the stages' history windows;"
        " worker CPU = all of it during the workflow, the upper bound of its non-API work;"
        " loop block = the longest single callback of the worker's event loop, as asyncio's"
        " debug mode measures slow callbacks, how much of it the loop thread spent computing,"
        " how much went to garbage collection, and where it ran)",
        "",
        "| workload | entries | worker CPU (s) | CPU per 10k entries (s) | "
        + " | ".join(STAGE_TITLES[s] for s in stages)
        + " | loop block (ms) | loop CPU in it (ms) | GC in it (ms) | block in |",
        "|" + "---|" * (len(stages) + 8),
    ]
    for result in found:
        pipeline = result["pipeline"]
        cpu, loop = pipeline["cpu"], pipeline.get("event_loop") or {}
        cells = []
        for stage in stages:
            use = cpu["stages"].get(stage)
            cells.append(
                "—" if use is None else f"{use['cpu_seconds']:.1f} / {use['peak_rss_mib']:.0f}"
            )
        stall = "—"
        if loop:
            stall = f"{'< ' if loop['below_threshold'] else ''}{loop['max_block_ms']:.0f}"
        what = loop.get("activity") or loop.get("callback", "")
        where = " ".join(
            p for p in (loop.get("stage", ""), _code(what), _code(loop.get("where", ""))) if p
        )
        rows.append(
            f"| {result['workload']} | {pipeline['entries']} | {cpu['non_api_cpu_seconds']:.1f}"
            f" | {cpu['cpu_seconds_per_10k_entries']:.1f} | {' | '.join(cells)}"
            f" | {stall} | {loop.get('loop_cpu_ms', 0):.0f} | {loop.get('gc_ms', 0):.0f}"
            f" | {where or '—'} |"
        )
    return [*rows, ""]


def _code(where: str) -> str:
    return f"`{where}`" if where else ""
