"""The request tables of ``docs/BENCHMARKS.md`` and the request targets (issue 12 items 3, 6, 7):
formula next to measured, and volt-agent, the original design and the best public peer side
by side."""

from __future__ import annotations

from typing import Any

REDUCTION_TARGET = 20
"""Original requests / volt-agent requests at least this on ``team`` and ``org``."""
REDUCTION_WORKLOADS = ("team", "org")


def formula_rows(results: list[dict[str, Any]]) -> list[str]:
    """Formula vs measured requests per workload; nothing when no result has the formula."""
    found = [r for r in results if "requests_formula" in r]
    if not found:
        return []
    rows = [
        "**Requests: formula vs measured** (`benchmarks/formula.py`: Toggl = ceil(rows / granted"
        " page size) + users + `/me` + totals (+ refused page sizes); Fibery = schema +"
        " entity queries + ceil(documents / document batch), a range from all merged to none)",
        "",
        "| workload | server page cap | documents cap | rows | granted page size | Toggl formula "
        "| Toggl measured | Fibery batches | documents | Fibery formula | Fibery measured "
        "| result |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in found:
        check = result["requests_formula"]
        toggl, fibery = check["toggl"], check["fibery"]
        verdict = "**PASS**" if check["passed"] else "**FAIL**"
        rows.append(
            f"| {result['workload']} | {result.get('page_cap', '—')}"
            f" | {_cap(result)} | {toggl['rows']}"
            f" | {toggl['page_size']} | {toggl['expected']} | {toggl['measured']}"
            f" | {fibery['batches']} | {fibery['documents']}"
            f" | {fibery['lowest']}..{fibery['highest']} | {fibery['measured']} | {verdict} |"
        )
    return [*rows, ""]


def _cap(result: dict[str, Any]) -> str:
    if "documents_cap" not in result:
        return "—"
    cap = result["documents_cap"]
    return "none" if cap is None else str(cap)


def _wall(side: dict[str, Any]) -> str:
    value = side.get("wall_seconds")
    text = "—" if value is None else f"{value:.1f}"
    return f"≥ {text} (estimate)" if side.get("mode") == "estimate" else text


def peer_rows(results: list[dict[str, Any]]) -> list[str]:
    """volt-agent, the original strategy and the peer side by side (Toggl; total)."""
    found = [r for r in results if "peer" in r and "original" in r]
    if not found:
        return []
    rows = [
        "**Side by side: volt-agent, the original strategy, the best public peer** (the peer,"
        " Pipedream's Toggl search action, fetches Toggl only: 50-row pages, one second"
        " between pages, totals separately)",
        "",
        "| workload | volt-agent Toggl req | volt-agent fetch (s) | volt-agent total req "
        "| volt-agent wall (s) | original Toggl req | original total req | original wall (s) "
        "| peer Toggl req | peer wall (s) | Toggl req: peer / volt-agent |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in found:
        pipeline, original, peer = result["pipeline"], result["original"], result["peer"]
        fetch = peer.get("volt_agent_fetch_seconds")
        total = pipeline["toggl_requests"] + pipeline["fibery_requests"]
        rows.append(
            f"| {result['workload']} | {pipeline['toggl_requests']}"
            f" | {'—' if fetch is None else f'{fetch:.1f}'} | {total}"
            f" | {pipeline['wall_seconds']:.1f} | {original['toggl_requests']}"
            f" | {original['requests']} | {_wall(original)} | {peer['toggl_requests']}"
            f" | {_wall(peer)} | {peer['toggl_request_reduction']:.1f}x |"
        )
    return [*rows, ""]


def request_targets(workload: str, result: dict[str, Any]) -> list[tuple[str, float, float, str]]:
    """``(name, value, limit, comparison)`` of the request targets of one workload: the
    formula on every workload that records it, 20x fewer requests on team and org."""
    targets: list[tuple[str, float, float, str]] = []
    check = result.get("requests_formula")
    if check is not None:
        toggl, fibery = check["toggl"], check["fibery"]
        difference = abs(toggl["measured"] - toggl["expected"])
        targets.append(("Toggl requests: |measured - formula|", difference, 0, "<="))
        outside = max(fibery["lowest"] - fibery["measured"], fibery["measured"] - fibery["highest"])
        targets.append(("Fibery requests outside the formula's range", max(0, outside), 0, "<="))
    if workload in REDUCTION_WORKLOADS and "request_reduction" in result:
        reduction = result["request_reduction"]
        targets.append(("API requests: original / volt-agent", reduction, REDUCTION_TARGET, ">="))
    return targets
