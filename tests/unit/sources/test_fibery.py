"""``FiberyClient`` and ``build_entity_query`` over a small fake of the commands API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.unit.sources.fakes import TOKEN, FakeSleep, Recorder
from volt_agent.config import EnrichmentType, FiberySettings, HttpSettings
from volt_agent.errors import AuthError, BadRequestError, ConfigError, UserInputError
from volt_agent.sources.fibery import FiberyClient, smaller_document_batch
from volt_agent.sources.fibery_query import build_entity_query
from volt_agent.sources.fibery_schema import FiberySchema, parse_schema

TASK = "Scrum/Task"
CHORE = "Legacy/Chore"
ENRICHMENT = EnrichmentType(
    fields={"sprint": ["Scrum/Sprint", "Scrum/Name"], "points": "Scrum/Points"}
)
FIELD_NOT_FOUND = {
    "name": "entity.error/schema-field-not-found",
    "message": '"Scrum/Points" field was not found in "Scrum/Task" database.',
}


def raw_type(type_key: str, *, legacy: bool = False) -> dict[str, Any]:
    """A database as a schema answer shows it: every mixin, or (``legacy``) none, no
    description and a lower-case ``Space/name``."""
    space = type_key.partition("/")[0]

    def field(name: str, kind: str, **meta: Any) -> dict[str, Any]:
        return {"fibery/name": name, "fibery/type": kind, "fibery/meta": meta}

    fields = [
        field("fibery/id", "fibery/uuid"),
        field("fibery/public-id", "fibery/text"),
        field("fibery/creation-date", "fibery/date-time"),
        field("fibery/modification-date", "fibery/date-time"),
        field(f"{space}/{'name' if legacy else 'Name'}", "fibery/text", **{"ui/title?": True}),
    ]
    if not legacy:
        fields += [
            field(f"{space}/Description", "Collaboration~Documents/Document"),
            field("workflow/state", f"workflow/state_{type_key}"),
            field("assignments/assignees", "fibery/user", **{"fibery/collection?": True}),
            field("comments/comments", "comments/comment", **{"fibery/collection?": True}),
            field("Scrum/Sprint", "Scrum/Sprint"),
            field("Scrum/Points", "fibery/decimal"),
        ]
    return {"fibery/name": type_key, "fibery/fields": fields, "fibery/meta": {}}


def raw_schema(*type_keys: str) -> dict[str, Any]:
    sprint = {
        "fibery/name": "Scrum/Sprint",
        "fibery/fields": [{"fibery/name": "Scrum/Name", "fibery/type": "fibery/text"}],
    }
    types = [raw_type(key, legacy=key == CHORE) for key in type_keys]
    return {"fibery/types": [*types, sprint]}


def schema_for(*type_keys: str) -> FiberySchema:
    return parse_schema(raw_schema(*type_keys))


SCHEMA = schema_for(TASK, CHORE)


def entity(public_id: str, comments: int = 0) -> dict[str, Any]:
    return {
        "id": f"uuid-{public_id}",
        "public_id": public_id,
        "name": f"Task {public_id}",
        "state": "In Progress",
        "created": "2025-08-01T10:00:00.000Z",
        "modified": "2025-09-02T10:00:00.000Z",
        "description_secret": f"d-{public_id}",
        "assignees": [{"name": "Ann", "email": "ann@example.com"}, {"name": None, "email": "x@y"}],
        "comment_count": comments,
        "comments": [
            {
                "author": f"user{c}",
                "created": f"2025-09-0{c + 1}T08:00:00Z",
                "secret": f"c-{public_id}-{c}",
            }
            for c in reversed(range(comments))
        ],
        "sprint": "Sprint 5",
        "points": 3,
    }


class FakeFibery:
    """Answers ``/api/commands`` from ``entities`` and ``get-documents`` from ``documents``.

    ``failures`` makes queries of a type fail; ``batch_4xx`` answers such a failure with a 400
    for the whole request; ``max_secrets`` refuses larger ``get-documents`` calls with 400.
    """

    def __init__(self) -> None:
        self.entities: dict[str, dict[str, dict[str, Any]]] = {
            TASK: {str(i): entity(str(i), comments=i % 4) for i in range(1, 8)},
            CHORE: {"50": {"id": "uuid-50", "public_id": "50", "name": "Old chore"}},
        }
        self.documents = {f"d-{i}": f"**Description** of {i}" for i in range(1, 8)} | {
            f"c-{i}-{c}": f"comment {c} on {i}" for i in range(1, 8) for c in range(4)
        }
        self.failures: dict[str, dict[str, str]] = {}
        self.batch_4xx = False
        self.max_secrets: int | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path == "/api/commands":
            results = [self.run(command) for command in body]
            failed = next((r["result"] for r in results if not r["success"]), None)
            if failed is not None and self.batch_4xx:
                return httpx.Response(400, json=failed)
            return httpx.Response(200, json=results)
        if request.url.path == "/api/documents/commands":
            assert request.url.params["format"] == "md"
            assert body["command"] == "get-documents"
            secrets = [arg["secret"] for arg in body["args"]]
            if self.max_secrets is not None and len(secrets) > self.max_secrets:
                return httpx.Response(400, json={"message": "too many secrets"})
            return httpx.Response(
                200,
                json=[
                    {"secret": s, "content": self.documents[s]}
                    for s in secrets
                    if s in self.documents
                ],
            )
        return httpx.Response(404, json={"message": "no route"})

    def run(self, command: dict[str, Any]) -> dict[str, Any]:
        if command["command"] == "fibery.schema/query":
            return {"success": True, "result": raw_schema(*self.entities)}
        query = command["args"]["query"]
        type_key = query["q/from"]
        if type_key in self.failures:
            return {"success": False, "result": self.failures[type_key]}
        if type_key not in self.entities:
            return {
                "success": False,
                "result": {
                    "name": "entity.error/schema-type-not-found",
                    "message": f"{type_key} database was not found.",
                },
            }
        rows = self.entities[type_key]
        ids = command["args"]["params"]["$ids"]
        return {
            "success": True,
            "result": [
                {key: rows[i].get(key) for key in query["q/select"]} for i in ids if i in rows
            ],
        }


@pytest.fixture
def fake() -> FakeFibery:
    return FakeFibery()


@pytest.fixture
def recorder(fake: FakeFibery) -> Recorder:
    return Recorder(fake)


def settings(**overrides: Any) -> FiberySettings:
    return FiberySettings(
        **{"base_url": "https://acme.fibery.io", "requests_per_second": 1000, **overrides}
    )


@pytest.fixture
async def client(recorder: Recorder, fake_sleep: FakeSleep) -> AsyncIterator[FiberyClient]:
    async with recorder.client() as http_client:
        yield FiberyClient(
            http_client,
            settings(batch_size=3, document_batch_size=4, max_comments=2),
            HttpSettings(),
            SecretStr(TOKEN),
            sleep=fake_sleep,
        )


def paths(recorder: Recorder) -> list[str]:
    return [request.url.path for request in recorder.requests]


def commands_sent(recorder: Recorder) -> list[list[dict[str, Any]]]:
    return [
        b
        for r, b in zip(recorder.requests, recorder.bodies(), strict=True)
        if r.url.path == "/api/commands"
    ]


def task_type() -> Any:
    task = SCHEMA.get(TASK)
    assert task is not None
    return task


def test_entity_query_selects_the_standard_and_configured_fields() -> None:
    query = build_entity_query(task_type(), ENRICHMENT, max_comments=5, limit=100)
    assert query["q/from"] == TASK
    assert query["q/where"] == ["q/in", ["fibery/public-id"], "$ids"]
    assert query["q/limit"] == 100
    assert query["q/select"] == {
        "id": "fibery/id",
        "public_id": "fibery/public-id",
        "created": "fibery/creation-date",
        "modified": "fibery/modification-date",
        "name": "Scrum/Name",
        "state": ["workflow/state", "enum/name"],
        "description_secret": ["Scrum/Description", "Collaboration~Documents/secret"],
        "assignees": {
            "q/from": "assignments/assignees",
            "q/select": {"name": "user/name", "email": "user/email"},
            "q/limit": 100,
        },
        "comment_count": ["q/count", ["comments/comments", "fibery/id"]],
        "comments": {
            "q/from": "comments/comments",
            "q/select": {
                "created": "fibery/creation-date",
                "author": ["comment/author", "user/name"],
                "secret": "comment/document-secret",
            },
            "q/order-by": [[["fibery/creation-date"], "q/desc"]],
            "q/limit": 5,
        },
        "sprint": ["Scrum/Sprint", "Scrum/Name"],
        "points": "Scrum/Points",
    }


def test_a_type_without_mixins_gets_only_what_it_has() -> None:
    chore = SCHEMA.get(CHORE)
    assert chore is not None
    query = build_entity_query(chore, EnrichmentType(), max_comments=50)
    assert query["q/select"] == {
        "id": "fibery/id",
        "public_id": "fibery/public-id",
        "created": "fibery/creation-date",
        "modified": "fibery/modification-date",
        "name": "Legacy/name",
    }


def test_no_query_asks_for_everything() -> None:
    for type_key in (TASK, CHORE):
        entity_type = SCHEMA.get(type_key)
        assert entity_type is not None
        for max_comments in (0, 1, 500):
            query = build_entity_query(entity_type, EnrichmentType(), max_comments)
            assert "q/no-limit" not in json.dumps(query)


def test_entity_query_honours_name_and_description_overrides() -> None:
    enrichment = EnrichmentType(name_field="Scrum/Title", description_field="Scrum/Spec")
    select = build_entity_query(task_type(), enrichment, max_comments=0)["q/select"]
    assert select["name"] == "Scrum/Title"
    assert select["description_secret"] == ["Scrum/Spec", "Collaboration~Documents/secret"]
    assert select["comment_count"] == ["q/count", ["comments/comments", "fibery/id"]]
    assert "comments" not in select


def test_entity_query_rejects_clashing_aliases_and_bad_type_keys() -> None:
    with pytest.raises(ConfigError, match="'name'"):
        build_entity_query(task_type(), EnrichmentType(fields={"name": "Scrum/Other"}), 1)
    with pytest.raises(ConfigError, match="'comment_count'"):
        build_entity_query(task_type(), EnrichmentType(fields={"comment_count": "x"}), 1)
    bare = parse_schema({"fibery/types": [{"fibery/name": "Task", "fibery/fields": []}]})
    task = bare.get("Task")
    assert task is not None
    with pytest.raises(UserInputError, match="Space/Type"):
        build_entity_query(task, EnrichmentType(), 1)


async def test_entities_are_assembled_with_documents_and_newest_comments(
    client: FiberyClient,
) -> None:
    [task] = await client.fetch_entities(TASK, ["3"], ENRICHMENT, SCHEMA)
    assert task.status == "found"
    assert task.fibery_id == "uuid-3"
    assert task.name == "Task 3"
    assert task.state == "In Progress"
    assert task.created is not None
    assert task.created.isoformat() == "2025-08-01T10:00:00+00:00"
    assert task.assignees == ["Ann", "x@y"]
    assert task.description == "**Description** of 3"
    assert task.comment_count == 3
    assert [(c.author, c.text) for c in task.comments] == [
        ("user1", "comment 1 on 3"),
        ("user2", "comment 2 on 3"),
    ]
    assert task.fields == {"sprint": "Sprint 5", "points": 3}


async def test_the_comment_total_comes_from_the_count(
    client: FiberyClient, fake: FakeFibery
) -> None:
    fake.entities[TASK]["3"]["comment_count"] = 120  # the sub-query returned only the newest
    [task] = await client.fetch_entities(TASK, ["3"], ENRICHMENT, SCHEMA)
    assert task.comment_count == 120
    assert len(task.comments) == 2


async def test_a_type_without_mixins_is_enriched_without_them(
    client: FiberyClient, recorder: Recorder
) -> None:
    [chore] = await client.fetch_entities(CHORE, ["50"], EnrichmentType(), SCHEMA)
    assert (chore.status, chore.name, chore.state) == ("found", "Old chore", None)
    assert (chore.assignees, chore.comments, chore.comment_count) == ([], [], 0)
    assert chore.description == ""
    assert paths(recorder) == ["/api/commands"]  # no document to fetch


async def test_ids_are_queried_in_batches_and_documents_in_document_batches(
    client: FiberyClient, recorder: Recorder
) -> None:
    ids = ["1", "2", "3", "4", "5", "6", "7"]
    result = await client.fetch_entities(TASK, ids, ENRICHMENT, SCHEMA)
    assert [e.public_id for e in result] == ids
    assert [c[0]["args"]["params"]["$ids"] for c in commands_sent(recorder)] == [
        ["1", "2", "3"],
        ["4", "5", "6"],
        ["7"],
    ]
    assert client.stats.by_endpoint["commands"] == 3
    # documents per chunk, 4 per call: 3 + (1+2+2) = 8 → 2; 3 + (0+1+2) = 6 → 2; 1 + 2 = 3 → 1
    assert client.stats.by_endpoint["documents"] == 5
    assert client.request_count == 8


async def test_without_a_schema_the_client_reads_it_once(
    client: FiberyClient, recorder: Recorder
) -> None:
    await client.fetch_entities(TASK, ["1"], ENRICHMENT)
    await client.fetch_entities(CHORE, ["50"], EnrichmentType())
    commands = [c[0]["command"] for c in commands_sent(recorder)]
    assert commands == ["fibery.schema/query", "fibery.entity/query", "fibery.entity/query"]


async def test_missing_ids_are_not_found_and_order_follows_the_request(
    client: FiberyClient,
) -> None:
    result = await client.fetch_entities(TASK, ["99", "2", "2", "1"], ENRICHMENT, SCHEMA)
    assert [(e.public_id, e.status) for e in result] == [
        ("99", "not_found"),
        ("2", "found"),
        ("1", "found"),
    ]


async def test_a_type_the_schema_lacks_is_an_error_without_any_request(
    client: FiberyClient, recorder: Recorder
) -> None:
    result = await client.fetch_entities("Scrum/Taks", ["1", "2"], EnrichmentType(), SCHEMA)
    assert [e.status for e in result] == ["error", "error"]
    assert result[0].error is not None
    assert "Scrum/Taks" in result[0].error
    assert "closest: Scrum/Task" in result[0].error
    assert recorder.requests == []


@pytest.mark.parametrize("batch_4xx", [False, True], ids=["per-command", "batch-4xx"])
async def test_a_type_gone_since_the_schema_was_read_is_an_error(
    client: FiberyClient, recorder: Recorder, fake: FakeFibery, batch_4xx: bool
) -> None:
    fake.batch_4xx = batch_4xx
    stale = schema_for(TASK, "Scrum/Nope")
    result = await client.fetch_entities("Scrum/Nope", ["1", "2"], EnrichmentType(), stale)
    assert [e.status for e in result] == ["error", "error"]
    assert result[0].error is not None
    assert "Scrum/Nope" in result[0].error
    assert paths(recorder) == ["/api/commands"]


@pytest.mark.parametrize("batch_4xx", [False, True], ids=["per-command", "batch-4xx"])
async def test_a_field_fibery_does_not_know_is_a_config_error(
    client: FiberyClient, fake: FakeFibery, batch_4xx: bool
) -> None:
    fake.failures[TASK] = FIELD_NOT_FOUND
    fake.batch_4xx = batch_4xx
    with pytest.raises(ConfigError) as caught:
        await client.fetch_entities(TASK, ["1"], ENRICHMENT, SCHEMA)
    message = str(caught.value)
    assert "\n" not in message
    assert '"Scrum/Points" field was not found in "Scrum/Task" database.' in message
    assert "enrichment_config.yaml" in message


@pytest.mark.parametrize("batch_4xx", [False, True], ids=["per-command", "batch-4xx"])
async def test_other_failed_commands_are_bad_requests(
    client: FiberyClient, fake: FakeFibery, batch_4xx: bool
) -> None:
    fake.failures[TASK] = {"name": "entity.error/something-else", "message": "No way"}
    fake.batch_4xx = batch_4xx
    with pytest.raises(BadRequestError, match="No way"):
        await client.fetch_entities(TASK, ["1"], ENRICHMENT, SCHEMA)


async def test_get_documents_refused_for_size_is_split_and_the_smaller_size_kept(
    client: FiberyClient, fake: FakeFibery, recorder: Recorder
) -> None:
    fake.max_secrets = 2
    secrets = [f"c-{i}-{c}" for i in range(1, 4) for c in range(2)]  # 6 secrets
    first = await client.fetch_documents(secrets[:4])
    assert set(first) == set(secrets[:4])
    sizes = [len(b["args"]) for b in recorder.bodies() if "args" in b]
    assert sizes == [4, 2, 2]  # refused, then halves
    assert client.document_batch_size == 2
    recorder.requests.clear()
    second = await client.fetch_documents(secrets)
    assert set(second) == set(secrets)
    assert [len(b["args"]) for b in recorder.bodies()] == [2, 2, 2]  # no second refusal


async def test_a_single_refused_document_is_an_error(
    client: FiberyClient, recorder: Recorder
) -> None:
    recorder.script = [httpx.Response(400, json={"message": "bad secret"})]
    with pytest.raises(BadRequestError, match="bad secret"):
        await client.fetch_documents(["d-1"])


async def test_schema_is_one_request(client: FiberyClient, recorder: Recorder) -> None:
    schema = await client.schema()
    assert set(schema.types) == {TASK, CHORE, "Scrum/Sprint"}
    assert recorder.bodies() == [[{"command": "fibery.schema/query"}]]
    assert await client.schema_types() == [CHORE, "Scrum/Sprint", TASK]


async def test_token_header_and_rejected_token(recorder: Recorder, client: FiberyClient) -> None:
    recorder.script = [httpx.Response(401, json={"message": "Unauthorized"})]
    with pytest.raises(AuthError, match="FIBERY_API_TOKEN") as caught:
        await client.schema()
    assert TOKEN not in str(caught.value)
    assert recorder.requests[0].headers["Authorization"] == f"Token {TOKEN}"


async def test_create_uses_the_configured_base_url(fake: FakeFibery) -> None:
    recorder = Recorder(fake)
    async with FiberyClient.create(
        settings(base_url="http://127.0.0.1:8111/"),
        HttpSettings(),
        SecretStr(TOKEN),
        httpx.MockTransport(recorder),
    ) as client:
        await client.schema()
    assert str(recorder.requests[0].url) == "http://127.0.0.1:8111/api/commands"


def test_missing_base_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="FIBERY_BASE_URL"):
        FiberyClient.create(FiberySettings(), HttpSettings(), SecretStr(TOKEN))


def test_document_batch_size_defaults_to_the_largest_step() -> None:
    """No maximum is published; a refusal steps down to what public code sends (50)."""
    assert FiberySettings().document_batch_size == 500
    assert smaller_document_batch(smaller_document_batch(smaller_document_batch(500))) == 50


@pytest.mark.parametrize(
    ("refused", "next_size"),
    [(500, 200), (501, 500), (300, 200), (180, 100), (100, 50), (63, 50), (50, 25), (3, 2), (2, 1)],
)
def test_a_refused_document_batch_steps_down_then_halves(refused: int, next_size: int) -> None:
    assert smaller_document_batch(refused) == next_size


async def test_a_refused_merged_documents_call_lowers_the_batch_below_what_it_carried(
    client: FiberyClient, fake: FakeFibery, recorder: Recorder
) -> None:
    fake.max_secrets = 3
    first = [f"c-{i}-{c}" for i in (1, 2) for c in range(2)]  # 4 secrets, one batch
    second = [f"c-{i}-{c}" for i in (3, 4) for c in range(2)]
    got = await asyncio.gather(
        client.fetch_documents(first[:2]), client.fetch_documents(second[:2])
    )
    assert [set(g) for g in got] == [set(first[:2]), set(second[:2])]
    sizes = [len(b["args"]) for b in recorder.bodies() if "args" in b]
    assert sizes == [4, 2, 2]  # merged and refused, then each caller asks at the lowered batch
    assert client.document_batch_size == 2  # learned from the merged refusal
    recorder.requests.clear()
    await client.fetch_documents(first + second)
    assert [len(b["args"]) for b in recorder.bodies()] == [2, 2, 2, 2]  # never refused again
