"""The Fibery stage's activities in an ``ActivityEnvironment`` against the in-process Fibery
simulator: schema first (one request per run, saved as ``fibery_schema.json``), the
enrichment config checked before any entity query, batches built from the saved schema."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from volt_agent.config import (
    EnrichmentSettings,
    EnrichmentType,
    HttpSettings,
    Secrets,
    Settings,
    load_settings,
)
from volt_agent.domain.aggregation import UNKNOWN_TYPE
from volt_agent.domain.models import MatchedEntity, TogglAggregated, UserAggregate
from volt_agent.pipeline.activities import PipelineActivities
from volt_agent.pipeline.enrichment_store import EnrichedBatch, batch_file
from volt_agent.pipeline.types import EnrichBatchInput, ExtractResult, RunRef
from volt_agent.reporting.writer import TemplateReportWriter
from volt_agent.sandbox import (
    FiberySimulatorOptions,
    Workspace,
    WorkspaceSpec,
    create_fibery_app,
    generate_workspace,
)
from volt_agent.sources.fibery import FiberyClient
from volt_agent.sources.fibery_schema import FiberySchema
from volt_agent.storage.run_folder import FIBERY_SCHEMA, TOGGL_AGGREGATED, RunFolder

BASE_URL = "http://fibery.test"
WORKSPACE: Workspace = generate_workspace(WorkspaceSpec(users=4, days=3, seed=5))
HTTP = HttpSettings(timeout_seconds=5, backoff_initial_seconds=0.01, max_retries=1)
REPOSITORY = load_settings(Path(__file__).parents[3] / "config" / "config.yaml", env={})


def matched(type_key: str | None, public_id: str) -> MatchedEntity:
    database, _, kind = (type_key or "").partition("/")
    return MatchedEntity(
        entity_id=public_id,
        database=database or None,
        entity_type=kind or None,
        name=f"#{public_id}",
        seconds=600,
        entry_count=1,
    )


def first_id(type_key: str) -> str:
    return str(WORKSPACE.fibery_entities[type_key][0]["fibery/public-id"])


def write_aggregated(folder: RunFolder, refs: list[MatchedEntity]) -> None:
    user = UserAggregate(
        user_id=1,
        user_name="Ann",
        total_seconds=600 * len(refs),
        matched_seconds=600 * len(refs),
        unmatched_seconds=0,
        entry_count=len(refs),
        matched=refs,
    )
    aggregated = TogglAggregated(
        start_date=date(2026, 11, 16), end_date=date(2026, 11, 18), users=[user]
    )
    folder.save(TOGGL_AGGREGATED, aggregated)


Stage = tuple[PipelineActivities, RunFolder, Callable[[], dict[str, int]]]


@pytest.fixture
async def stage(tmp_path: Path) -> AsyncIterator[Callable[..., Stage]]:
    clients: list[httpx.AsyncClient] = []

    def build(
        enrichment: EnrichmentSettings | None = None,
        options: FiberySimulatorOptions | None = None,
    ) -> Stage:
        app = create_fibery_app(WORKSPACE, options)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
        clients.append(http)
        settings = Settings()
        settings = settings.model_copy(
            update={
                "fibery": settings.fibery.model_copy(
                    update={"base_url": BASE_URL, "requests_per_second": 1000.0}
                ),
                "enrichment": enrichment or REPOSITORY.enrichment,
                "output_dir": tmp_path,
            }
        )
        token = SecretStr("fibery-sandbox-token")
        client = FiberyClient(http, settings.fibery, HTTP, token)
        activities = PipelineActivities(
            settings, Secrets(fibery_api_token=token), TemplateReportWriter(), fibery=client
        )
        folder = RunFolder(tmp_path, "run-1")
        return activities, folder, app.state.stats.snapshot

    yield build
    for http in clients:
        await http.aclose()


async def extract(activities: PipelineActivities, folder: RunFolder) -> ExtractResult:
    run = RunRef(run_id=folder.run_id)
    result: ExtractResult = await ActivityEnvironment().run(activities.extract_fibery_entities, run)
    return result


async def test_the_schema_is_read_once_saved_and_used_by_every_batch(
    stage: Callable[..., Stage],
) -> None:
    activities, folder, stats = stage()
    refs = [
        matched("Scrum/Task", first_id("Scrum/Task")),
        matched("Scrum/Chore", first_id("Scrum/Chore")),
        matched("Scrum/Build", first_id("Scrum/Build")),
        matched("Product/Feature", first_id("Product/Feature")),
        matched("Scrum/Epic", "4"),  # a type the workspace does not have
        matched(None, "77"),
    ]
    write_aggregated(folder, refs)
    plan = await extract(activities, folder)
    assert folder.exists(FIBERY_SCHEMA)
    schema = folder.load(FIBERY_SCHEMA, FiberySchema)
    assert {"Scrum/Task", "Scrum/Chore", "Product/Feature"} <= set(schema.types)
    assert (stats()["fibery.schema_query"], stats()["fibery.entity_query"]) == (1, 0)

    await extract(activities, folder)  # a retried attempt reads the saved file
    assert stats()["fibery.schema_query"] == 1

    run = RunRef(run_id=folder.run_id)
    for batch in plan.batches:
        enrich = getattr(activities, batch.activity)
        await ActivityEnvironment().run(enrich, EnrichBatchInput(run=run, batch=batch))
    entities = {
        (e.type_key, e.public_id): e
        for batch in plan.batches
        for e in folder.load(batch_file(batch.type_key, batch.index), EnrichedBatch).entities
    }
    assert stats()["fibery.schema_query"] == 1
    chore = entities["Scrum/Chore", first_id("Scrum/Chore")]
    assert (chore.status, chore.assignees, chore.comment_count) == ("found", [], 0)
    assert chore.state
    build = entities["Scrum/Build", first_id("Scrum/Build")]
    assert (build.status, build.state, build.description) == ("found", None, "")
    feature = entities["Product/Feature", first_id("Product/Feature")]
    assert feature.status == "found"
    assert feature.name == WORKSPACE.fibery_entities["Product/Feature"][0]["Product/name"]
    assert feature.fields["release"]
    assert entities["Scrum/Epic", "4"].status == "error"
    assert entities[UNKNOWN_TYPE, "77"].status == "error"
    assert entities["Scrum/Task", first_id("Scrum/Task")].status == "found"


async def test_a_misnamed_config_fails_before_any_entity_query(
    stage: Callable[..., Stage],
) -> None:
    enrichment = EnrichmentSettings(
        types={"Scrum/Task": EnrichmentType(fields={"estimate": "Scrum/Estimat"})}
    )
    activities, folder, stats = stage(enrichment)
    write_aggregated(folder, [matched("Scrum/Task", first_id("Scrum/Task"))])
    with pytest.raises(ApplicationError) as caught:
        await extract(activities, folder)
    assert caught.value.non_retryable
    assert caught.value.type == "ConfigError"
    message = caught.value.message
    assert "\n" not in message
    assert "'Scrum/Estimat'" in message
    assert "closest: Scrum/Estimate" in message
    assert stats()["fibery.entity_query"] == 0


async def test_without_fibery_references_no_schema_is_asked_for(
    stage: Callable[..., Stage],
) -> None:
    activities, folder, stats = stage()
    write_aggregated(folder, [matched(None, "5")])
    plan = await extract(activities, folder)
    assert [b.type_key for b in plan.batches] == [UNKNOWN_TYPE]
    assert stats()["requests"] == 0
    assert not folder.exists(FIBERY_SCHEMA)


async def test_cleanup_removes_the_schema_so_a_rerun_reads_it_again(
    stage: Callable[..., Stage],
) -> None:
    activities, folder, stats = stage()
    write_aggregated(folder, [matched("Scrum/Task", first_id("Scrum/Task"))])
    await extract(activities, folder)
    run = RunRef(run_id=folder.run_id)
    removed = await ActivityEnvironment().run(activities.cleanup_fibery_stage, run)
    assert FIBERY_SCHEMA in removed
    assert not folder.exists(FIBERY_SCHEMA)
    await extract(activities, folder)
    assert stats()["fibery.schema_query"] == 2


async def test_an_enrichment_batch_without_the_schema_file_says_what_to_do(
    stage: Callable[..., Stage],
) -> None:
    activities, folder, _ = stage()
    write_aggregated(folder, [matched("Scrum/Task", first_id("Scrum/Task"))])
    plan = await extract(activities, folder)
    folder.file(FIBERY_SCHEMA).unlink()
    run = RunRef(run_id=folder.run_id)
    [batch] = plan.batches
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(
            getattr(activities, batch.activity), EnrichBatchInput(run=run, batch=batch)
        )
    assert caught.value.non_retryable
    assert FIBERY_SCHEMA in caught.value.message
