"""``FiberyClient`` against the Fibery simulator over real sockets.

Entities are fetched with the repository's own ``config/enrichment_config.yaml`` and checked
field by field against the generated workspace; every test also checks the simulator's
request counters (commands, entity queries, document batches).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tests.integration.client_settings import FAST_HTTP, RETRY_AFTER_HTTP
from volt_agent.config import EnrichmentType, FiberySettings, HttpSettings, Settings, load_settings
from volt_agent.domain.models import EnrichedEntity
from volt_agent.errors import AuthError
from volt_agent.sandbox import (
    FaultPlan,
    FaultRule,
    FiberySimulatorOptions,
    Simulators,
    Workspace,
    WorkspaceSpec,
    generate_workspace,
    run_simulators,
)
from volt_agent.sources.fibery import FiberyClient
from volt_agent.sources.parsing import as_datetime

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SETTINGS: Settings = load_settings(ROOT / "config" / "config.yaml", env={})
SPEC = WorkspaceSpec(users=6, days=5, seed=11)
WORKSPACE = generate_workspace(SPEC)
TYPES = sorted(key for key, items in WORKSPACE.fibery_entities.items() if items)


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    return WORKSPACE


@pytest.fixture(scope="module")
def shared(workspace: Workspace) -> Iterator[Simulators]:
    """Simulators without limits or faults, shared by the tests that only need counters."""
    with run_simulators(workspace) as running:
        yield running


@pytest.fixture
def sims(shared: Simulators) -> Simulators:
    shared.fibery.reset_stats()
    return shared


def client_for(
    sims: Simulators,
    *,
    http: HttpSettings = FAST_HTTP,
    token: str | None = None,
    **overrides: Any,
) -> FiberyClient:
    settings = FiberySettings.model_validate(
        SETTINGS.fibery.model_dump()
        | {"base_url": sims.fibery.base_url, "requests_per_second": 50.0}
        | overrides
    )
    return FiberyClient.create(settings, http, SecretStr(token or sims.fibery.token))


def enrichment(type_key: str) -> EnrichmentType:
    return SETTINGS.enrichment.for_type(type_key)


def walk(entity: dict[str, Any], path: str | list[str]) -> Any:
    value: Any = entity
    for part in [path] if isinstance(path, str) else path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def assert_matches_workspace(
    got: EnrichedEntity, record: dict[str, Any], workspace: Workspace, max_comments: int
) -> None:
    """``got`` holds what the workspace holds for ``record``, as the client should map it."""
    space = got.type_key.split("/", 1)[0]
    documents = workspace.documents
    assert got.status == "found", got.error
    assert got.public_id == record["fibery/public-id"]
    assert got.fibery_id == record["fibery/id"]
    assert got.name == record[f"{space}/Name"]
    assert got.state == record["workflow/state"]["enum/name"]
    assert got.created == as_datetime(record["fibery/creation-date"])
    assert got.modified == as_datetime(record["fibery/modification-date"])
    assert got.assignees == [
        a["user/name"] or a["user/email"] for a in record["assignments/assignees"]
    ]
    secret = record[f"{space}/Description"]["Collaboration~Documents/secret"]
    assert got.description == documents[secret]
    assert got.description.strip()
    comments = record["comments/comments"]
    kept = comments[-max_comments:] if max_comments else []
    assert got.comment_count == len(comments)
    assert [c.text for c in got.comments] == [documents[c["comment/document-secret"]] for c in kept]
    assert [c.author for c in got.comments] == [c["comment/author"]["user/name"] for c in kept]
    assert [c.created for c in got.comments] == [
        as_datetime(c["fibery/creation-date"]) for c in kept
    ]
    fields = enrichment(got.type_key).fields
    assert got.fields == {alias: walk(record, path) for alias, path in fields.items()}


def documents_of(records: list[dict[str, Any]], max_comments: int) -> int:
    """Documents a fetch of ``records`` needs: one description each plus the kept comments."""
    return sum(1 + min(len(r["comments/comments"]), max_comments) for r in records)


@pytest.mark.parametrize("type_key", TYPES)
async def test_fetch_entities_of_each_type_matches_the_workspace(
    sims: Simulators, workspace: Workspace, type_key: str
) -> None:
    records = workspace.fibery_entities[type_key]
    ids = [r["fibery/public-id"] for r in records]
    settings = SETTINGS.fibery
    async with client_for(sims) as client:
        got = await client.fetch_entities(type_key, [*reversed(ids), ids[0]], enrichment(type_key))
    assert [e.public_id for e in got] == list(reversed(ids))  # distinct, in the order asked
    by_id = {e.public_id: e for e in got}
    for record in records:
        assert_matches_workspace(
            by_id[record["fibery/public-id"]], record, workspace, settings.max_comments
        )
    # Configured fields that the sandbox type has are really read (not all empty).
    fields = enrichment(type_key).fields
    roots = {path if isinstance(path, str) else path[0] for path in fields.values()}
    if any(root in r for r in records for root in roots):
        assert any(value is not None for e in got for value in e.fields.values())

    batches = math.ceil(len(ids) / settings.batch_size)
    document_batches = math.ceil(
        documents_of(records, settings.max_comments) / settings.document_batch_size
    )
    counts = sims.fibery.stats()
    assert counts["fibery.commands"] == counts["fibery.entity_query"] == batches
    assert counts["fibery.documents_commands"] == document_batches
    assert counts["fibery.documents_served"] == documents_of(records, settings.max_comments)
    assert counts["requests"] == batches + document_batches


def test_the_workspace_exercises_assignees_comments_and_fields(workspace: Workspace) -> None:
    records = [r for items in workspace.fibery_entities.values() for r in items]
    assert len(TYPES) >= 6
    assert any(r["comments/comments"] for r in records)
    assert any(len(r["assignments/assignees"]) > 1 for r in records)
    assert any(not r["assignments/assignees"] for r in records)


async def test_max_comments_keeps_the_newest_and_fetches_only_their_documents(
    sims: Simulators, workspace: Workspace
) -> None:
    def several_comments(type_key: str) -> list[dict[str, Any]]:
        items = workspace.fibery_entities[type_key]
        return [r for r in items if len(r["comments/comments"]) > 1]

    type_key = max(TYPES, key=lambda t: len(several_comments(t)))
    typed = several_comments(type_key)
    assert typed, "the workspace needs an entity with two comments or more"
    ids = [r["fibery/public-id"] for r in typed]
    async with client_for(sims, max_comments=1) as client:
        got = await client.fetch_entities(type_key, ids, enrichment(type_key))
    for entity, record in zip(got, typed, strict=True):
        assert_matches_workspace(entity, record, workspace, max_comments=1)
        assert len(entity.comments) == 1 < entity.comment_count
    counts = sims.fibery.stats()
    assert counts["fibery.documents_served"] == 2 * len(typed)
    assert counts["fibery.documents_commands"] == 1


async def test_deleted_entities_are_not_found(sims: Simulators, workspace: Workspace) -> None:
    assert workspace.deleted_refs
    ref = workspace.deleted_refs[0]
    existing = workspace.fibery_entities[ref.type_key][0]
    async with client_for(sims) as client:
        got = await client.fetch_entities(
            ref.type_key, [ref.public_id, existing["fibery/public-id"]], enrichment(ref.type_key)
        )
        counts_mixed = sims.fibery.stats()
        sims.fibery.reset_stats()
        only_deleted = await client.fetch_entities(
            ref.type_key,
            [r.public_id for r in workspace.deleted_refs if r.type_key == ref.type_key],
            enrichment(ref.type_key),
        )
    assert got[0].status == "not_found"
    assert (got[0].name, got[0].error, got[0].description) == (None, None, "")
    assert_matches_workspace(got[1], existing, workspace, SETTINGS.fibery.max_comments)
    assert counts_mixed["fibery.entity_query"] == counts_mixed["fibery.documents_commands"] == 1
    assert {e.status for e in only_deleted} == {"not_found"}
    counts = sims.fibery.stats()
    assert (counts["fibery.entity_query"], counts["fibery.documents_commands"]) == (1, 0)


async def test_unknown_type_is_an_error_status_for_each_id(sims: Simulators) -> None:
    async with client_for(sims) as client:
        got = await client.fetch_entities("Scrum/Epic", ["1", "2"], SETTINGS.enrichment.default)
    assert [(e.public_id, e.status) for e in got] == [("1", "error"), ("2", "error")]
    assert all(e.error and "Scrum/Epic" in e.error and "\n" not in e.error for e in got)
    counts = sims.fibery.stats()
    assert (counts["fibery.commands"], counts["fibery.entity_query"]) == (1, 1)
    assert counts["fibery.documents_commands"] == 0
    assert counts["requests"] == 1


async def test_wrong_token_is_an_auth_error_without_the_token(
    sims: Simulators, workspace: Workspace
) -> None:
    token = "wrong-fibery-token-8c2e41"
    async with client_for(sims, token=token) as client:
        with pytest.raises(AuthError) as caught:
            await client.fetch_entities("Scrum/Task", ["1"], enrichment("Scrum/Task"))
        assert client.stats.retries == 0
    message = str(caught.value)
    assert caught.value.status_code == 401
    assert token not in message
    assert "FIBERY_API_TOKEN" in message
    counts = sims.fibery.stats()
    assert (counts["fibery.commands"], counts["requests"], counts["status.401"]) == (1, 1, 1)
    assert counts["fibery.entity_query"] == 0  # refused before the command ran


async def test_real_rate_limit_is_waited_out(workspace: Workspace) -> None:
    type_key = "Scrum/Task"
    records = workspace.fibery_entities[type_key]
    options = FiberySimulatorOptions(requests_per_second=1.0)
    with run_simulators(workspace, fibery=options) as sims:
        async with client_for(sims, http=RETRY_AFTER_HTTP) as client:
            got = await client.fetch_entities(
                type_key, [r["fibery/public-id"] for r in records], enrichment(type_key)
            )
            client_stats = client.stats
        counts = sims.fibery.stats()
    for entity, record in zip(got, records, strict=True):
        assert_matches_workspace(entity, record, workspace, SETTINGS.fibery.max_comments)
    # Two requests (query, documents) back to back: the second is refused once, then admitted.
    assert counts["rate_limited"] == counts["status.429"] == 1
    assert client_stats.rate_limited == client_stats.retries == 1
    assert client_stats.slept_seconds >= 1.0
    assert (counts["fibery.entity_query"], counts["status.200"]) == (1, 2)
    assert counts["fibery.documents_commands"] == 1 + 1  # the refused attempt counts too
    assert counts["requests"] == client_stats.total == 3


@pytest.mark.parametrize(
    ("rule", "faults"),
    [
        (FaultRule("status", "fibery.commands", status=502, first_n=2), 2),
        (FaultRule("status", "fibery.documents_commands", status=503, first_n=1), 1),
        (FaultRule("malformed_json", "fibery.commands", first_n=1), 1),
        (FaultRule("malformed_json", "fibery.documents_commands", first_n=1), 1),
        (FaultRule("drop", "fibery.commands", first_n=1), 1),
        (FaultRule("drop", "fibery.documents_commands", first_n=1), 1),
    ],
    ids=[
        "502x2-commands",
        "503-documents",
        "malformed-commands",
        "malformed-documents",
        "drop-commands",
        "drop-documents",
    ],
)
async def test_transient_faults_are_retried(
    workspace: Workspace, rule: FaultRule, faults: int
) -> None:
    type_key = "Scrum/Bug"
    records = workspace.fibery_entities[type_key]
    options = FiberySimulatorOptions(faults=FaultPlan((rule,)))
    with run_simulators(workspace, fibery=options) as sims:
        async with client_for(sims) as client:
            got = await client.fetch_entities(
                type_key, [r["fibery/public-id"] for r in records], enrichment(type_key)
            )
            client_stats = client.stats
        counts = sims.fibery.stats()
    for entity, record in zip(got, records, strict=True):
        assert_matches_workspace(entity, record, workspace, SETTINGS.fibery.max_comments)
    assert counts["faulted"] == client_stats.retries == faults
    assert counts["requests"] == client_stats.total == 2 + faults
    # A status fault answers before the simulator; the other kinds run the command first.
    ran = 1 if rule.kind == "status" or rule.endpoint != "fibery.commands" else 1 + faults
    assert counts["fibery.entity_query"] == ran
