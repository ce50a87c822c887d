"""``FiberyClient`` against the Fibery simulator over real sockets.

Entities are fetched with the repository's own ``config/enrichment_config.yaml`` and the
workspace schema (read first, as a run does) and checked field by field against the
generated workspace; every test also checks the simulator's request counters (commands,
entity queries, document batches). The simulator plays both readings of a failing command
(200 with ``success: false``, or a 400 for the whole request), Fibery's two rate limits
(3 requests/s per token, 7/s per workspace) and a cap on secrets per ``get-documents`` call.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tests.integration.client_settings import FAST_HTTP, RETRY_AFTER_HTTP
from volt_agent.config import (
    EnrichmentSettings,
    EnrichmentType,
    FiberySettings,
    HttpSettings,
    Settings,
    load_settings,
)
from volt_agent.domain.models import EnrichedEntity
from volt_agent.errors import AuthError, ConfigError
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
from volt_agent.sandbox._fibery_schema import LAYOUTS, schema_answer
from volt_agent.sources.fibery import FiberyClient
from volt_agent.sources.fibery_schema import FiberySchema, check_enrichment_config, parse_schema
from volt_agent.sources.parsing import as_datetime

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SETTINGS: Settings = load_settings(ROOT / "config" / "config.yaml", env={})
SPEC = WorkspaceSpec(users=6, days=5, seed=11)
WORKSPACE = generate_workspace(SPEC)
TYPES = sorted(key for key, items in WORKSPACE.fibery_entities.items() if items)
SCHEMA: FiberySchema = parse_schema(schema_answer())
"""What the simulator's schema query answers (checked over a socket below)."""
MODES = ("per_command", "batch_4xx")


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
    """``got`` holds what the workspace holds for ``record``, as the client should map it;
    what the type lacks (state, assignees, comments, description) is empty."""
    layout = LAYOUTS[got.type_key]
    documents = workspace.documents
    assert got.status == "found", got.error
    assert got.public_id == record["fibery/public-id"]
    assert got.fibery_id == record["fibery/id"]
    assert got.name == record[layout.name_field]
    state = record.get("workflow/state")
    assert got.state == (state["enum/name"] if state else None)
    assert got.created == as_datetime(record["fibery/creation-date"])
    assert got.modified == as_datetime(record["fibery/modification-date"])
    assert got.assignees == [
        a["user/name"] or a["user/email"] for a in record.get("assignments/assignees", [])
    ]
    if layout.description_field:
        secret = record[layout.description_field]["Collaboration~Documents/secret"]
        assert got.description == documents[secret]
        assert got.description.strip()
    else:
        assert got.description == ""
    comments = record.get("comments/comments", [])
    kept = comments[-max_comments:] if max_comments else []
    assert got.comment_count == len(comments)
    assert [c.text for c in got.comments] == [documents[c["comment/document-secret"]] for c in kept]
    assert [c.author for c in got.comments] == [c["comment/author"]["user/name"] for c in kept]
    assert [c.created for c in got.comments] == [
        as_datetime(c["fibery/creation-date"]) for c in kept
    ]
    fields = enrichment(got.type_key).fields
    assert got.fields == {alias: walk(record, path) for alias, path in fields.items()}


def documents_of(type_key: str, records: list[dict[str, Any]], max_comments: int) -> int:
    """Documents a fetch of ``records`` needs: one description each (when the type has one)
    plus the kept comments."""
    description = 1 if LAYOUTS[type_key].description_field else 0
    return sum(
        description + min(len(r.get("comments/comments", [])), max_comments) for r in records
    )


@pytest.mark.parametrize("type_key", TYPES)
async def test_fetch_entities_of_each_type_matches_the_workspace(
    sims: Simulators, workspace: Workspace, type_key: str
) -> None:
    records = workspace.fibery_entities[type_key]
    ids = [r["fibery/public-id"] for r in records]
    settings = SETTINGS.fibery
    async with client_for(sims) as client:
        got = await client.fetch_entities(
            type_key, [*reversed(ids), ids[0]], enrichment(type_key), SCHEMA
        )
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
        documents_of(type_key, records, settings.max_comments) / settings.document_batch_size
    )
    counts = sims.fibery.stats()
    assert counts["fibery.commands"] == counts["fibery.entity_query"] == batches
    assert counts["fibery.documents_commands"] == document_batches
    assert counts["fibery.documents_served"] == documents_of(
        type_key, records, settings.max_comments
    )
    assert counts["requests"] == batches + document_batches


def test_the_workspace_exercises_assignees_comments_and_fields(workspace: Workspace) -> None:
    records = [r for items in workspace.fibery_entities.values() for r in items]
    assert len(TYPES) >= 6
    assert any(r.get("comments/comments") for r in records)
    assert any(len(r.get("assignments/assignees", [])) > 1 for r in records)
    assert any(r.get("assignments/assignees") == [] for r in records)
    assert {"Scrum/Build", "Scrum/Chore", "Product/Feature"} <= set(TYPES)


async def test_the_schema_is_one_request_and_what_the_client_queries_by(
    sims: Simulators,
) -> None:
    async with client_for(sims) as client:
        schema = await client.schema()
    assert schema == SCHEMA
    counts = sims.fibery.stats()
    assert (counts["requests"], counts["fibery.schema_query"]) == (1, 1)
    check_enrichment_config(schema, SETTINGS.enrichment, TYPES)


async def test_max_comments_keeps_the_newest_and_fetches_only_their_documents(
    sims: Simulators, workspace: Workspace
) -> None:
    def several_comments(type_key: str) -> list[dict[str, Any]]:
        items = workspace.fibery_entities[type_key]
        return [r for r in items if len(r.get("comments/comments", [])) > 1]

    type_key = max(TYPES, key=lambda t: len(several_comments(t)))
    typed = several_comments(type_key)
    assert typed, "the workspace needs an entity with two comments or more"
    ids = [r["fibery/public-id"] for r in typed]
    async with client_for(sims, max_comments=1) as client:
        got = await client.fetch_entities(type_key, ids, enrichment(type_key), SCHEMA)
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
            ref.type_key,
            [ref.public_id, existing["fibery/public-id"]],
            enrichment(ref.type_key),
            SCHEMA,
        )
        counts_mixed = sims.fibery.stats()
        sims.fibery.reset_stats()
        only_deleted = await client.fetch_entities(
            ref.type_key,
            [r.public_id for r in workspace.deleted_refs if r.type_key == ref.type_key],
            enrichment(ref.type_key),
            SCHEMA,
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
        got = await client.fetch_entities(
            "Scrum/Epic", ["1", "2"], SETTINGS.enrichment.default, SCHEMA
        )
    assert [(e.public_id, e.status) for e in got] == [("1", "error"), ("2", "error")]
    assert all(e.error and "Scrum/Epic" in e.error and "\n" not in e.error for e in got)
    assert sims.fibery.stats()["requests"] == 0  # the schema says so: nothing to ask


@pytest.mark.parametrize("mode", MODES)
async def test_a_type_deleted_since_the_schema_was_read_is_an_error_status(
    workspace: Workspace, mode: str
) -> None:
    stale = parse_schema(
        {
            "fibery/types": [
                *schema_answer()["fibery/types"],
                {"fibery/name": "Scrum/Epic", "fibery/fields": [], "fibery/meta": {}},
            ]
        }
    )
    options = FiberySimulatorOptions(command_failure_mode=mode)  # type: ignore[arg-type]
    with run_simulators(workspace, fibery=options) as sims:
        async with client_for(sims) as client:
            got = await client.fetch_entities("Scrum/Epic", ["1"], EnrichmentType(), stale)
        counts = sims.fibery.stats()
    [epic] = got
    assert epic.status == "error"
    assert epic.error is not None
    assert "Scrum/Epic database was not found" in epic.error
    assert (counts["fibery.entity_query"], counts["requests"]) == (1, 1)


async def test_wrong_token_is_an_auth_error_without_the_token(
    sims: Simulators, workspace: Workspace
) -> None:
    token = "wrong-fibery-token-8c2e41"
    async with client_for(sims, token=token) as client:
        with pytest.raises(AuthError) as caught:
            await client.schema()
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
                type_key, [r["fibery/public-id"] for r in records], enrichment(type_key), SCHEMA
            )
            client_stats = client.stats
        counts = sims.fibery.stats()
    for entity, record in zip(got, records, strict=True):
        assert_matches_workspace(entity, record, workspace, SETTINGS.fibery.max_comments)
    # The query and the document calls back to back: each call after the first is refused
    # once, then admitted after the advertised second.
    calls = 1 + math.ceil(
        documents_of(type_key, records, SETTINGS.fibery.max_comments)
        / SETTINGS.fibery.document_batch_size
    )
    assert counts["rate_limited"] == counts["status.429"] == calls - 1
    assert client_stats.rate_limited == client_stats.retries == calls - 1
    assert client_stats.slept_seconds >= calls - 1
    assert (counts["fibery.entity_query"], counts["status.200"]) == (1, calls)
    assert counts["requests"] == client_stats.total == 2 * calls - 1


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
                type_key, [r["fibery/public-id"] for r in records], enrichment(type_key), SCHEMA
            )
            client_stats = client.stats
        counts = sims.fibery.stats()
    for entity, record in zip(got, records, strict=True):
        assert_matches_workspace(entity, record, workspace, SETTINGS.fibery.max_comments)
    calls = 1 + math.ceil(
        documents_of(type_key, records, SETTINGS.fibery.max_comments)
        / SETTINGS.fibery.document_batch_size
    )
    assert counts["faulted"] == client_stats.retries == faults
    assert counts["requests"] == client_stats.total == calls + faults
    # A status fault answers before the simulator; the other kinds run the command first.
    ran = 1 if rule.kind == "status" or rule.endpoint != "fibery.commands" else 1 + faults
    assert counts["fibery.entity_query"] == ran


def referenced(workspace: Workspace) -> dict[str, list[str]]:
    """Every entity of every type, plus the deleted ones time entries still name."""
    ids = {key: [r["fibery/public-id"] for r in items] for key, items in typed_records()}
    for ref in workspace.deleted_refs:
        ids.setdefault(ref.type_key, []).append(ref.public_id)
    return ids


def typed_records() -> list[tuple[str, list[dict[str, Any]]]]:
    return [(key, WORKSPACE.fibery_entities[key]) for key in TYPES]


@pytest.mark.parametrize("mode", MODES)
async def test_full_enrichment_under_each_command_failure_mode(
    workspace: Workspace, mode: str
) -> None:
    """Every type at once (the client merges what waits together); one type was deleted
    after the schema was read: only its ids are errors, whichever way Fibery fails it."""
    stale = parse_schema(
        {
            "fibery/types": [
                *schema_answer()["fibery/types"],
                {"fibery/name": "Scrum/Gone", "fibery/fields": [], "fibery/meta": {}},
            ]
        }
    )
    wanted = referenced(workspace) | {"Scrum/Gone": ["1", "2"]}
    options = FiberySimulatorOptions(command_failure_mode=mode)  # type: ignore[arg-type]
    with run_simulators(workspace, fibery=options) as sims:
        async with client_for(sims, requests_per_second=20.0) as client:
            check_enrichment_config(stale, SETTINGS.enrichment, wanted)
            results = await asyncio.gather(
                *(
                    client.fetch_entities(key, ids, enrichment(key), stale)
                    for key, ids in wanted.items()
                )
            )
        counts = sims.fibery.stats()
    got = {(e.type_key, e.public_id): e for result in results for e in result}
    assert set(got) == {(key, i) for key, ids in wanted.items() for i in ids}
    deleted = {(ref.type_key, ref.public_id) for ref in workspace.deleted_refs}
    for key, items in typed_records():
        for record in items:
            entity = got[key, record["fibery/public-id"]]
            assert_matches_workspace(entity, record, workspace, SETTINGS.fibery.max_comments)
    assert deleted
    assert all(got[ref].status == "not_found" for ref in deleted)
    gone = [got["Scrum/Gone", i] for i in ("1", "2")]
    assert [e.status for e in gone] == ["error", "error"]
    assert all(e.error and "Scrum/Gone database was not found" in e.error for e in gone)
    assert counts["fibery.schema_query"] == 0  # the client used the schema it was given
    if mode == "batch_4xx":
        assert counts.get("status.400", 0) >= 1  # the merged request that carried Scrum/Gone
    else:
        assert counts.get("status.400", 0) == 0
        assert counts["fibery.commands"] < counts["fibery.entity_query"]  # queries merged


@pytest.mark.parametrize("mode", MODES)
async def test_a_misnamed_config_fails_with_one_line(workspace: Workspace, mode: str) -> None:
    misnamed = EnrichmentSettings(
        types={
            "Scrum/Taks": EnrichmentType(),
            "Product/Feature": EnrichmentType(
                fields={"release": ["Product/Release", "Product/Name"]}
            ),
        }
    )
    options = FiberySimulatorOptions(command_failure_mode=mode)  # type: ignore[arg-type]
    with run_simulators(workspace, fibery=options) as sims:
        async with client_for(sims) as client:
            schema = await client.schema()
            with pytest.raises(ConfigError) as checked:
                check_enrichment_config(schema, misnamed, TYPES)
            # Were the check skipped, Fibery's own refusal is the same kind of error.
            wrong = EnrichmentType(fields={"release": ["Product/Release", "Product/Name"]})
            feature = WORKSPACE.fibery_entities["Product/Feature"][0]["fibery/public-id"]
            with pytest.raises(ConfigError) as refused:
                await client.fetch_entities("Product/Feature", [feature], wrong, schema)
        counts = sims.fibery.stats()
    message = str(checked.value)
    assert "\n" not in message
    assert "'Scrum/Taks'" in message
    assert "closest: Scrum/Task" in message
    assert message.endswith("(and 1 more problem)")
    refusal = str(refused.value)
    assert "\n" not in refusal
    assert '"Product/Name" field was not found in "Product/Release" database.' in refusal
    assert counts["fibery.documents_commands"] == 0


async def test_tokens_within_their_own_limit_still_meet_the_workspace_cap(
    workspace: Workspace,
) -> None:
    """Three tokens at 3 requests/s each are 9/s: above the workspace's 7/s."""
    tokens = ("fibery-sandbox-token", "second-token-4b1c9e", "third-token-77d0aa")
    options = FiberySimulatorOptions(
        requests_per_second=3.0,
        burst=2,  # absorbs socket jitter: each client keeps to 3/s on its own
        workspace_requests_per_second=7.0,
        workspace_burst=1,
        extra_tokens=tokens[1:],
        retry_after_header=False,  # a 1 s Retry-After would only make the test slower
    )
    patient = HttpSettings(
        timeout_seconds=10, backoff_initial_seconds=0.05, backoff_max_seconds=0.5, max_retries=8
    )
    with run_simulators(workspace, fibery=options) as sims:
        clients = [
            client_for(sims, http=patient, token=token, requests_per_second=3.0) for token in tokens
        ]
        try:

            async def read(client: FiberyClient) -> list[FiberySchema]:
                return [await client.schema() for _ in range(2)]

            answers = await asyncio.gather(*(read(c) for c in clients))
            stats = [c.stats for c in clients]
        finally:
            for c in clients:
                await c.aclose()
        counts = sims.fibery.stats()
    assert all(schema == SCHEMA for answer in answers for schema in answer)
    assert counts["rate_limited.workspace"] >= 1
    assert counts["rate_limited"] == counts["rate_limited.workspace"]  # no token over 3/s
    assert sum(s.rate_limited for s in stats) == counts["status.429"]
    assert counts["fibery.schema_query"] == 6


async def test_429_without_retry_after_is_backed_off(workspace: Workspace) -> None:
    type_key = "Scrum/Bug"
    records = workspace.fibery_entities[type_key]
    options = FiberySimulatorOptions(requests_per_second=4.0, retry_after_header=False)
    patient = HttpSettings(
        timeout_seconds=10, backoff_initial_seconds=0.1, backoff_max_seconds=0.5, max_retries=6
    )
    with run_simulators(workspace, fibery=options) as sims:
        async with client_for(sims, http=patient) as client:
            got = await client.fetch_entities(
                type_key, [r["fibery/public-id"] for r in records], enrichment(type_key), SCHEMA
            )
            client_stats = client.stats
        counts = sims.fibery.stats()
    for entity, record in zip(got, records, strict=True):
        assert_matches_workspace(entity, record, workspace, SETTINGS.fibery.max_comments)
    assert counts["status.429"] >= 1
    assert client_stats.rate_limited == counts["status.429"]


async def test_a_documents_cap_below_the_batch_is_learned_once(workspace: Workspace) -> None:
    type_key = "Scrum/Task"
    records = workspace.fibery_entities[type_key]
    needed = documents_of(type_key, records, SETTINGS.fibery.max_comments)
    cap = 8
    assert needed > cap
    options = FiberySimulatorOptions(max_secrets_per_documents_call=cap)
    with run_simulators(workspace, fibery=options) as sims:
        async with client_for(sims, document_batch_size=50) as client:
            got = await client.fetch_entities(
                type_key, [r["fibery/public-id"] for r in records], enrichment(type_key), SCHEMA
            )
            learned = client.document_batch_size
            refused = sims.fibery.stats().get("status.400", 0)
            bugs = workspace.fibery_entities["Scrum/Bug"]
            more = await client.fetch_entities(
                "Scrum/Bug", [r["fibery/public-id"] for r in bugs], enrichment("Scrum/Bug"), SCHEMA
            )
        counts = sims.fibery.stats()
    for entity, record in zip(got, records, strict=True):
        assert_matches_workspace(entity, record, workspace, SETTINGS.fibery.max_comments)
    for entity, record in zip(more, bugs, strict=True):
        assert_matches_workspace(entity, record, workspace, SETTINGS.fibery.max_comments)
    assert learned <= cap
    assert 1 <= refused <= 3  # 50 → 25 → 13 → 7 at most
    assert counts.get("status.400", 0) == refused  # learned: the second type is never refused
    assert counts["fibery.documents_served"] == needed + documents_of(
        "Scrum/Bug", bugs, SETTINGS.fibery.max_comments
    )


async def test_a_comment_flood_is_counted_and_only_the_newest_are_read(
    workspace: Workspace,
) -> None:
    type_key = "Scrum/Bug"
    target = workspace.fibery_entities[type_key][0]
    public_id = target["fibery/public-id"]
    flood = 1500
    options = FiberySimulatorOptions(extra_comments=((type_key, public_id, flood),))
    with run_simulators(workspace, fibery=options) as sims:
        async with client_for(sims, max_comments=3) as client:
            [bug] = await client.fetch_entities(type_key, [public_id], enrichment(type_key), SCHEMA)
        counts = sims.fibery.stats()
    assert bug.comment_count == len(target["comments/comments"]) + flood
    assert len(bug.comments) == 3
    assert bug.comments[-1].text.endswith(f"(comment {flood} of {flood})")  # newest last
    created = [c.created for c in bug.comments]
    assert created == sorted(created)
    assert counts["fibery.documents_served"] == 1 + 3  # the description and 3 comments
