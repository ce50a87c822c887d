"""Targets, results files and the summary table of ``docs/BENCHMARKS.md``."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.measure import KIB, MIB

GIB = 1024 * MIB
TABLE_BEGIN = "<!-- bench:table:begin -->"
TABLE_END = "<!-- bench:table:end -->"
WORKLOAD_ORDER = ("small", "team", "org")


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    limit: float
    comparison: str
    """``<=``, ``<`` or ``>=``: how ``value`` must compare with ``limit``."""

    @property
    def passed(self) -> bool:
        if self.comparison == "<=":
            return self.value <= self.limit
        if self.comparison == "<":
            return self.value < self.limit
        return self.value >= self.limit

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def targets_for(workload: str, result: dict[str, Any]) -> list[Target]:
    """The issue's targets that apply to ``workload`` (none for ``small``)."""
    pipeline = result["pipeline"]
    if workload == "team":
        floor = result["floor"]
        limit = 1.5 * floor["seconds"] + pipeline["llm"]["seconds"]
        return [
            Target(
                "wall <= 1.5 x rate-limit floor + LLM time (s)",
                pipeline["wall_seconds"],
                round(limit, 1),
                "<=",
            ),
            Target("API requests: original / volt-agent", result["request_reduction"], 20, ">="),
        ]
    if workload == "org":
        return [
            Target("worker peak RSS (MiB)", pipeline["worker_peak_rss_mib"], GIB / MIB, "<"),
            Target("workflow history events", pipeline["history"]["events"], 10_000, "<"),
            Target(
                "largest history event (KiB)",
                round(pipeline["history"]["largest_event_bytes"] / KIB, 1),
                256,
                "<",
            ),
        ]
    return []


def target_line(target: dict[str, Any]) -> str:
    """``PASS  name: value <= limit`` for a target as stored in a results file."""
    verdict = "PASS" if target["passed"] else "FAIL"
    limit = f"{target['comparison']} {target['limit']:g}"
    return f"{verdict}  {target['name']}: {target['value']:g} {limit}"


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomically: a half-written results file would break the summary table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def load_results(results_dir: Path) -> list[dict[str, Any]]:
    found = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in results_dir.glob("*.json")}
    ordered = [found.pop(name) for name in WORKLOAD_ORDER if name in found]
    return ordered + [found[name] for name in sorted(found)]


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def table(results: list[dict[str, Any]]) -> str:
    """Markdown tables of every results file (time; requests and resources; targets)."""
    time_rows = [
        "| workload | users x days | entries | entities | wall (s) | workflow (s) "
        "| Toggl stage (s) | fetch (s) | Fibery stage (s) | enrich (s) | person reports (s) "
        "| floor (s) | wall / floor |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    request_rows = [
        "| workload | Toggl req | Fibery req | 429s | LLM calls | original Toggl req "
        "| original Fibery req | original wall (s) | request reduction | worker RSS (MiB) "
        "| CLI RSS (MiB) | history events | largest event (KiB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    target_rows = ["| workload | target | measured | limit | result |", "|---|---|---|---|---|"]
    for result in results:
        name, spec, pipeline = result["workload"], result["spec"], result["pipeline"]
        stages = pipeline["history"]["stages"]
        original = result["original"]
        time_rows.append(
            f"| {name} | {spec['users']} x {spec['days']} | {pipeline['entries']}"
            f" | {pipeline['entities']} | {_s(pipeline['wall_seconds'])}"
            f" | {_s(pipeline['history']['workflow_seconds'])}"
            f" | {_s(stages.get('toggl_stage'))} | {_s(stages.get('toggl_fetch'))}"
            f" | {_s(stages.get('fibery_stage'))} | {_s(stages.get('fibery_enrich'))}"
            f" | {_s(stages.get('person_reports'))} | {_s(result['floor']['seconds'])}"
            f" | {result['floor']['wall_ratio']:.2f} |"
        )
        original_wall = _s(original["wall_seconds"])
        if original["mode"] == "estimate":
            original_wall = f"≥ {original_wall} (estimate)"
        request_rows.append(
            f"| {name} | {pipeline['toggl_requests']} | {pipeline['fibery_requests']}"
            f" | {pipeline['rate_limited']} | {pipeline['llm']['calls']}"
            f" | {original['toggl_requests']} | {original['fibery_requests']} | {original_wall}"
            f" | {result['request_reduction']:.1f}x | {pipeline['worker_peak_rss_mib']:.0f}"
            f" | {pipeline['cli_peak_rss_mib']:.0f} | {pipeline['history']['events']}"
            f" | {pipeline['history']['largest_event_bytes'] / KIB:.1f} |"
        )
        for target in result["targets"]:
            verdict = "**PASS**" if target["passed"] else "**FAIL**"
            target_rows.append(
                f"| {name} | {target['name']} | {target['value']:g}"
                f" | {target['comparison']} {target['limit']:g} | {verdict} |"
            )
    runs = ", ".join(f"{r['workload']} {r['measured_at']}" for r in results)
    return "\n".join(
        [
            f"Measured: {runs}.",
            "",
            "**Time**",
            "",
            *time_rows,
            "",
            "**Requests and resources**",
            "",
            *request_rows,
            "",
            "**Targets**",
            "",
            *target_rows,
        ]
    )


def update_markdown(doc: Path, results_dir: Path) -> None:
    """Replace the generated section of ``doc`` with the tables of every results file."""
    results = load_results(results_dir)
    if not results or not doc.exists():
        return
    text = doc.read_text(encoding="utf-8")
    head, found, rest = text.partition(TABLE_BEGIN)
    _, found_end, tail = rest.partition(TABLE_END)
    if not found or not found_end:
        return
    doc.write_text(f"{head}{TABLE_BEGIN}\n{table(results)}\n{TABLE_END}{tail}", encoding="utf-8")
