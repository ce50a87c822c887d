"""The request formula (``benchmarks.formula``) applied to one benchmark run.

The formula's inputs come from the run's own ``run_metadata.json`` statistics — report rows
received, the page size the server granted, the fetched range, the entity batches — and the
repository configuration the run used; only the number of documents read comes from the
Fibery simulator's ``documents_served`` counter (the run keeps the documents' text, not how
many secrets it asked for), and so does the number of refused calls (``status.400``: in a
benchmark run only a ``get-documents`` call over the server's cap is refused). The measured
side is the simulators' admitted requests (a 429 is a request the formula does not plan;
the bench reports them apart).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from benchmarks.formula import (
    FiberyFormula,
    TogglFormula,
    formula_check,
    formula_lines,
    refused_page_sizes,
)
from benchmarks.peer_strategy import PeerResult
from volt_agent.sandbox import FiberySimulatorOptions, TogglSimulatorOptions
from volt_agent.sources.fibery import smaller_document_batch
from volt_agent.sources.pagination import split_range

CONFIG = Path(__file__).resolve().parents[1] / "config" / "config.yaml"
PAGE_CAPS = (50, 200, 1000)
"""Server page-size caps the benchmark plays (``TogglSimulatorOptions.max_page_size``)."""


def with_page_cap(options: TogglSimulatorOptions, cap: int | None) -> TogglSimulatorOptions:
    """The Toggl simulator options with the server's page-size cap ``cap`` (``None``: as is)."""
    return options if cap is None else replace(options, max_page_size=cap)


def configured(config: Path = CONFIG) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(config.read_text(encoding="utf-8"))
    return data


def granted_document_batch(configured: int, cap: int | None) -> int:
    """The batch the client steps down to under a server taking at most ``cap`` secrets."""
    size = configured
    while cap is not None and size > cap:
        size = smaller_document_batch(size)
    return size


def request_formula(
    meta: dict[str, Any],
    toggl_stats: dict[str, int],
    fibery_stats: dict[str, int],
    *,
    page_size_mode: str = "clamp",
    documents_cap: int | None = None,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Formula next to measured for one run (``formula.formula_check``)."""
    settings = config if config is not None else configured()
    statistics = meta.get("statistics", {})
    toggl = statistics.get("toggl", {})
    asked = int(settings["toggl"]["page_size"])
    granted = int(toggl.get("page_size") or asked)
    windows = 1
    completeness = toggl.get("completeness") or {}
    if completeness.get("start_date") and completeness.get("end_date"):
        windows = len(
            split_range(
                date.fromisoformat(completeness["start_date"]),
                date.fromisoformat(completeness["end_date"]),
                int(settings["toggl"].get("max_range_days", 366)),
            )
        )
    toggl_formula = TogglFormula(
        rows=int(toggl.get("statistics", {}).get("rows_received", 0)),
        page_size=granted,
        refused=refused_page_sizes(asked, granted, page_size_mode),
        windows=windows,
    )
    document_batch = int(settings["fibery"]["document_batch_size"])
    fibery_formula = FiberyFormula(
        batches=int(statistics.get("enrichment_batches", {}).get("batches", 0)),
        documents=int(fibery_stats.get("fibery.documents_served", 0)),
        document_batch=document_batch,
        granted_batch=granted_document_batch(document_batch, documents_cap),
        refused=int(fibery_stats.get("status.400", 0)),
    )
    return formula_check(
        toggl_formula,
        toggl_stats["requests"] - toggl_stats.get("rate_limited", 0),
        fibery_formula,
        fibery_stats["requests"] - fibery_stats.get("rate_limited", 0),
    )


def request_facts(
    meta: dict[str, Any],
    toggl_stats: dict[str, int],
    fibery_stats: dict[str, int],
    fetch_seconds: float | None,
    peer: PeerResult | None,
    *,
    page_cap: int | None = None,
    documents_cap: int | None = FiberySimulatorOptions().max_secrets_per_documents_call,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The results-file entries of one run: ``requests_formula`` and ``peer`` (the peer's
    Toggl requests and time next to volt-agent's Toggl requests and fetch stage)."""
    facts: dict[str, Any] = {
        "page_cap": page_cap if page_cap is not None else TogglSimulatorOptions().max_page_size,
        "documents_cap": documents_cap,
        "requests_formula": request_formula(
            meta, toggl_stats, fibery_stats, documents_cap=documents_cap, config=config
        ),
    }
    if peer is not None:
        ours = toggl_stats["requests"]
        facts["peer"] = {
            **peer.as_dict(),
            "volt_agent_toggl_requests": ours,
            "volt_agent_fetch_seconds": fetch_seconds,
            "toggl_request_reduction": round(peer.requests / ours, 2) if ours else 0.0,
        }
    return facts


def request_lines(result: dict[str, Any]) -> list[str]:
    """Summary lines: the formula next to the measured requests, and the peer."""
    lines = formula_lines(result["requests_formula"])
    if (peer := result.get("peer")) is not None:
        lines.append(
            f"peer strategy (Pipedream, {peer['mode']}): Toggl {peer['toggl_requests']}"
            f" requests ({peer['pages']} pages of 50 + {peer['totals_requests']} totals),"
            f" {peer['wall_seconds']} s; volt-agent Toggl {peer['volt_agent_toggl_requests']}"
            f" requests, fetch {peer['volt_agent_fetch_seconds']} s"
            f" ({peer['toggl_request_reduction']}x fewer)"
        )
    return lines
