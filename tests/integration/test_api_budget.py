"""The API-call budget of one report week, measured at the simulators over real sockets.

Every Toggl request counts against an hourly quota (30 on the Free plan) and Fibery allows
about 3 requests per second, so the number of requests is part of the contract:

- Toggl: the whole range in ``ceil(rows / max_page_size)`` report pages — rows grouped
  (entries with the same description, project, task, tags and billable flag share a row) as
  the configuration asks — plus at most two other requests (``/me`` and the workspace users),
  cached for the run;
- Fibery: one schema query per run, one ``fibery.entity/query`` per (type, batch of
  ``batch_size`` ids) and ``ceil(documents of the batch / document batch)``
  ``get-documents`` calls per batch — one per batch when the document batch holds a
  batch's documents. The document batch is ``document_batch_size`` unless the server refuses
  it: then the next step that it takes, learned once (each refused call is one request).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from tests.integration.client_settings import FAST_HTTP
from volt_agent.config import FiberySettings, TogglSettings, load_settings
from volt_agent.domain.aggregation import UNKNOWN_TYPE, aggregate, referenced_entities
from volt_agent.domain.models import EnrichedEntity, TogglAggregated
from volt_agent.domain.parsing import DescriptionParser
from volt_agent.sandbox import (
    FiberySimulatorOptions,
    Simulators,
    TogglSimulatorOptions,
    Workspace,
    WorkspaceSpec,
    generate_workspace,
    run_simulators,
)
from volt_agent.sandbox._fibery_schema import LAYOUTS
from volt_agent.sources.fibery import DOCUMENT_BATCH_STEPS, FiberyClient
from volt_agent.sources.toggl import TogglClient

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = load_settings(ROOT / "config" / "config.yaml", env={})
SPEC = WorkspaceSpec(users=50, days=7, seed=2026)
START = SPEC.start_date
END = SPEC.start_date + timedelta(days=SPEC.days - 1)
FREE_PLAN_QUOTA = 30
TOGGL_OPTIONS = TogglSimulatorOptions(hourly_quota=FREE_PLAN_QUOTA, me_hourly_quota=FREE_PLAN_QUOTA)


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    return generate_workspace(SPEC)


@pytest.fixture(scope="module")
def sims(workspace: Workspace) -> Iterator[Simulators]:
    with run_simulators(workspace, TOGGL_OPTIONS) as running:
        yield running


def test_the_generated_week_has_the_expected_size(workspace: Workspace) -> None:
    entities = sum(len(items) for items in workspace.fibery_entities.values())
    types = [key for key, items in workspace.fibery_entities.items() if items]
    assert len(workspace.toggl_users) == 50
    assert 2000 <= len(workspace.time_entries) <= 3500
    assert entities >= 200
    assert len(types) >= 6
    assert workspace.deleted_refs


@dataclass(frozen=True)
class Week:
    """What one run's Toggl side produced and what the Toggl simulator counted meanwhile."""

    aggregated: TogglAggregated
    ids_by_type: dict[str, list[str]]
    rows: int
    toggl_counts: dict[str, int]


async def fetch_week(sims: Simulators) -> Week:
    """Fetch the week like a run does: users (for names), then every entry of the range."""
    settings = TogglSettings(
        base_url=sims.toggl.base_url,
        workspace_id=None,  # resolved through /me, as without TOGGL_WORKSPACE_ID
        page_size=TOGGL_OPTIONS.max_page_size,
        grouped=SETTINGS.toggl.grouped,
        requests_per_second=50.0,
        max_quota_wait_seconds=0,
    )
    sims.toggl.reset_stats()
    async with TogglClient.create(settings, FAST_HTTP, SecretStr(sims.toggl.token)) as client:
        users = await client.workspace_users()
        assert await client.workspace_users() == users  # cached
        entries, stats = await client.fetch_time_entries(START, END)
    aggregated = aggregate(entries, users, START, END, DescriptionParser(SETTINGS.parsing))
    ids = {k: v for k, v in referenced_entities(aggregated).items() if k != UNKNOWN_TYPE}
    return Week(aggregated, ids, stats.rows_received, sims.toggl.stats())


@pytest.fixture(scope="module")
def week(sims: Simulators) -> Week:
    """Fetched once: a second fetch would spend the Free-plan quota the simulator enforces."""
    return asyncio.run(fetch_week(sims))


def test_toggl_fetches_the_week_within_budget(week: Week, workspace: Workspace) -> None:
    zones = {u.id: ZoneInfo(u.timezone) for u in workspace.toggl_users}
    expected = [
        e
        for e in workspace.time_entries
        if START <= e.start.astimezone(zones[e.user_id]).date() <= END
    ]  # the report filters by each creator's local day
    assert week.rows == len(expected) == week.aggregated.statistics.entry_count
    assert week.aggregated.statistics.total_seconds == sum(e.seconds for e in expected)

    counts = week.toggl_counts
    groups = {(e.user_id, e.description, e.project_id, e.task_id, e.billable, e.tag_ids)
              for e in expected}  # fmt: skip
    rows = len(groups) if SETTINGS.toggl.grouped else len(expected)
    pages = math.ceil(rows / TOGGL_OPTIONS.max_page_size)
    assert counts["requests"] <= pages + 2, counts
    assert counts["toggl.search_time_entries"] == pages
    assert (counts["toggl.me"], counts["toggl.workspace_users"]) == (1, 1)
    assert counts["quota_exceeded"] == counts["rate_limited"] == 0  # fits the Free plan
    assert counts["requests"] <= FREE_PLAN_QUOTA


def documents_needed(type_key: str, records: list[dict[str, Any]], max_comments: int) -> int:
    """A description per entity (when the type has one) plus its newest comments."""
    description = 1 if LAYOUTS[type_key].description_field else 0
    return sum(
        description + min(len(r.get("comments/comments", [])), max_comments) for r in records
    )


@pytest.mark.parametrize(
    ("batch_size", "document_batch_size", "max_comments"),
    [
        (
            SETTINGS.fibery.batch_size,
            SETTINGS.fibery.document_batch_size,
            SETTINGS.fibery.max_comments,
        ),
        (16, 16 * (1 + 5), 5),  # within the simulator's 100 secrets per get-documents call
    ],
    ids=["config-batches", "small-batches-documents-fit"],
)
async def test_fibery_enriches_every_referenced_entity_within_budget(
    sims: Simulators,
    workspace: Workspace,
    week: Week,
    batch_size: int,
    document_batch_size: int,
    max_comments: int,
) -> None:
    ids_by_type = week.ids_by_type
    assert len(ids_by_type) >= 6
    settings = FiberySettings.model_validate(
        SETTINGS.fibery.model_dump()
        | {
            "base_url": sims.fibery.base_url,
            "requests_per_second": 50.0,
            "batch_size": batch_size,
            "document_batch_size": document_batch_size,
            "max_comments": max_comments,
        }
    )
    records = {
        (key, r["fibery/public-id"]): r
        for key, items in workspace.fibery_entities.items()
        for r in items
    }
    deleted = {(ref.type_key, ref.public_id) for ref in workspace.deleted_refs}

    sims.fibery.reset_stats()
    got: list[EnrichedEntity] = []
    batches = document_bound = 0
    cap = FiberySimulatorOptions().max_secrets_per_documents_call or document_batch_size
    granted = min(document_batch_size, cap)
    async with FiberyClient.create(settings, FAST_HTTP, SecretStr(sims.fibery.token)) as client:
        schema = await client.schema()  # once per run, before any entity query
        for type_key, ids in ids_by_type.items():
            got += await client.fetch_entities(
                type_key, ids, SETTINGS.enrichment.for_type(type_key), schema
            )
            for start in range(0, len(ids), batch_size):
                chunk = ids[start : start + batch_size]
                batch = [records[type_key, i] for i in chunk if (type_key, i) in records]
                batches += 1
                document_bound += math.ceil(
                    documents_needed(type_key, batch, max_comments) / granted
                )

    referenced = {(t, i) for t, ids in ids_by_type.items() for i in ids}
    assert referenced & deleted, "the week references no deleted entity"
    assert referenced - deleted <= set(records)
    status = {(e.type_key, e.public_id): e.status for e in got}
    assert status == {key: "not_found" if key in deleted else "found" for key in referenced}

    if batch_size < max(map(len, ids_by_type.values())):
        assert batches > len(ids_by_type)  # some type really needs several batches
    counts = sims.fibery.stats()
    assert counts["fibery.entity_query"] <= batches
    assert counts["fibery.schema_query"] == 1
    assert counts["fibery.commands"] == counts["fibery.entity_query"] + 1
    refused = counts.get("status.400", 0)
    assert refused <= len(DOCUMENT_BATCH_STEPS)  # each step refused once at most, then learned
    assert counts["fibery.documents_commands"] <= document_bound + refused
    if document_batch_size >= batch_size * (1 + max_comments):
        assert counts["fibery.documents_commands"] <= batches
    assert counts["requests"] == counts["fibery.commands"] + counts["fibery.documents_commands"]
    assert counts["fibery.document_get"] == 0
