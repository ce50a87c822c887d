"""Schema first, through the real workflow: one schema request per run, saved as
``fibery_schema.json``; a config naming a type Fibery lacks fails the run with one line
before any entity query; the enrichment works when Fibery answers a failing command with a
400 for the whole request."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client

from tests.integration.pipeline_env import pipeline_env
from volt_agent.domain.models import EnrichedData
from volt_agent.sandbox import FiberySimulatorOptions
from volt_agent.sources.fibery_schema import FiberySchema
from volt_agent.storage.run_folder import ENRICHED_DATA, FIBERY_SCHEMA

pytestmark = pytest.mark.integration


async def test_a_run_reads_the_schema_once_and_enriches_under_batch_4xx(
    temporal_client: Client, tmp_path: Path
) -> None:
    # no documents cap: a merged get-documents call over the cap would be a (planned) 400
    fibery = FiberySimulatorOptions(
        command_failure_mode="batch_4xx", max_secrets_per_documents_call=None
    )
    async with pipeline_env(temporal_client, tmp_path, fibery=fibery) as env:
        folder, meta = await env.run()
        counts = env.sims.fibery.stats()
    assert meta.status == "completed", meta.error
    assert counts["fibery.schema_query"] == 1
    assert counts.get("status.400", 0) == 0  # every query fits the schema: nothing refused
    schema = folder.load(FIBERY_SCHEMA, FiberySchema)
    assert "Product/Feature" in schema.types
    enriched = folder.load(ENRICHED_DATA, EnrichedData)
    deleted = {(d.type_key, d.public_id) for d in env.workspace.deleted_refs}
    statuses = {(e.type_key, e.public_id): e.status for e in enriched.entities}
    assert {k for k, s in statuses.items() if s == "not_found"} <= deleted
    assert {s for k, s in statuses.items() if k not in deleted} == {"found"}
    types = {e.type_key for e in enriched.entities if e.status == "found"}
    assert {"Scrum/Build", "Scrum/Chore", "Product/Feature"} <= types  # no mixins, name
    features = [e for e in enriched.entities if e.type_key == "Product/Feature"]
    assert all(e.name and e.fields.get("release") for e in features if e.status == "found")


async def test_a_config_naming_a_type_fibery_lacks_fails_the_run_with_one_line(
    temporal_client: Client, tmp_path: Path
) -> None:
    enrichment = {
        "types": {"Scrum/Taks": {"activity": "enrich_scrum_task", "fields": {}}},
        "default": {},
    }
    async with pipeline_env(temporal_client, tmp_path, enrichment=enrichment) as env:
        folder, meta = await env.run()
        counts = env.sims.fibery.stats()
    assert meta.status == "failed"
    assert meta.stages_completed == ["toggl"]
    assert meta.stages_failed == ["fibery"]
    assert meta.error is not None
    assert "\n" not in meta.error
    assert "'Scrum/Taks'" in meta.error
    assert "closest: Scrum/Task" in meta.error
    assert counts["fibery.schema_query"] == 1  # non-retryable: asked once, never again
    assert counts["fibery.entity_query"] == 0
    assert folder.exists(FIBERY_SCHEMA)
