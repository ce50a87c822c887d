"""``FiberyClient`` and ``build_entity_query`` over a small fake of the commands API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.unit.sources.fakes import TOKEN, FakeSleep, Recorder
from volt_agent.config import EnrichmentType, FiberySettings, HttpSettings
from volt_agent.errors import AuthError, BadRequestError, ConfigError, UserInputError
from volt_agent.sources.fibery import FiberyClient, build_entity_query

TASK = "Scrum/Task"
ENRICHMENT = EnrichmentType(
    fields={"sprint": ["Scrum/Sprint", "Scrum/Name"], "points": "Scrum/Points"}
)


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
    """Answers ``/api/commands`` from ``entities`` and ``get-documents`` from ``documents``."""

    def __init__(self) -> None:
        self.entities: dict[str, dict[str, dict[str, Any]]] = {
            TASK: {str(i): entity(str(i), comments=i % 4) for i in range(1, 8)}
        }
        self.documents = {f"d-{i}": f"**Description** of {i}" for i in range(1, 8)} | {
            f"c-{i}-{c}": f"comment {c} on {i}" for i in range(1, 8) for c in range(4)
        }
        self.failure: dict[str, str] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path == "/api/commands":
            return httpx.Response(200, json=[self.run(command) for command in body])
        if request.url.path == "/api/documents/commands":
            assert request.url.params["format"] == "md"
            assert body["command"] == "get-documents"
            secrets = [arg["secret"] for arg in body["args"]]
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
            types = [{"fibery/name": name, "fibery/fields": []} for name in self.entities]
            return {"success": True, "result": {"fibery/types": types}}
        if self.failure is not None:
            return {"success": False, "result": self.failure}
        query = command["args"]["query"]
        type_key = query["q/from"]
        if type_key not in self.entities:
            return {
                "success": False,
                "result": {
                    "name": "entity.error/schema-type-not-found",
                    "message": f"Type {type_key} was not found",
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


def test_entity_query_selects_the_standard_and_configured_fields() -> None:
    query = build_entity_query(TASK, ENRICHMENT, max_comments=5, limit=100)
    select = query["q/select"]
    assert query["q/from"] == TASK
    assert query["q/where"] == ["q/in", ["fibery/public-id"], "$ids"]
    assert query["q/limit"] == 100
    assert select["id"] == "fibery/id"
    assert select["public_id"] == "fibery/public-id"
    assert select["name"] == "Scrum/Name"
    assert select["state"] == ["workflow/state", "enum/name"]
    assert select["created"] == "fibery/creation-date"
    assert select["modified"] == "fibery/modification-date"
    assert select["description_secret"] == ["Scrum/Description", "Collaboration~Documents/secret"]
    assert select["assignees"] == {
        "q/from": "assignments/assignees",
        "q/select": {"name": "user/name", "email": "user/email"},
        "q/limit": "q/no-limit",
    }
    assert select["comments"] == {
        "q/from": "comments/comments",
        "q/select": {
            "created": "fibery/creation-date",
            "author": ["comment/author", "user/name"],
            "secret": "comment/document-secret",
        },
        "q/limit": "q/no-limit",
    }
    assert select["sprint"] == ["Scrum/Sprint", "Scrum/Name"]
    assert select["points"] == "Scrum/Points"


def test_entity_query_honours_name_and_description_overrides() -> None:
    enrichment = EnrichmentType(name_field="Product/Title", description_field="Product/Spec")
    select = build_entity_query("Product/Feature", enrichment, max_comments=0)["q/select"]
    assert select["name"] == "Product/Title"
    assert select["description_secret"] == ["Product/Spec", "Collaboration~Documents/secret"]
    assert select["comments"]["q/select"] == {"created": "fibery/creation-date"}


def test_entity_query_rejects_clashing_aliases_and_bad_type_keys() -> None:
    with pytest.raises(ConfigError, match="'name'"):
        build_entity_query(TASK, EnrichmentType(fields={"name": "Scrum/Other"}), 1)
    with pytest.raises(UserInputError, match="Space/Type"):
        build_entity_query("Task", EnrichmentType(), 1)


async def test_entities_are_assembled_with_documents_and_newest_comments(
    client: FiberyClient,
) -> None:
    [task] = await client.fetch_entities(TASK, ["3"], ENRICHMENT)
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


async def test_ids_are_queried_in_batches_and_documents_in_document_batches(
    client: FiberyClient, recorder: Recorder
) -> None:
    ids = ["1", "2", "3", "4", "5", "6", "7"]
    result = await client.fetch_entities(TASK, ids, ENRICHMENT)
    assert [e.public_id for e in result] == ids
    commands = [
        b
        for r, b in zip(recorder.requests, recorder.bodies(), strict=True)
        if r.url.path == "/api/commands"
    ]
    assert [c[0]["args"]["params"]["$ids"] for c in commands] == [
        ["1", "2", "3"],
        ["4", "5", "6"],
        ["7"],
    ]
    assert client.stats.by_endpoint["commands"] == 3
    # documents per chunk, 4 per call: 3 + (1+2+2) = 8 → 2; 3 + (0+1+2) = 6 → 2; 1 + 2 = 3 → 1
    assert client.stats.by_endpoint["documents"] == 5
    assert client.request_count == 8


async def test_missing_ids_are_not_found_and_order_follows_the_request(
    client: FiberyClient,
) -> None:
    result = await client.fetch_entities(TASK, ["99", "2", "2", "1"], ENRICHMENT)
    assert [(e.public_id, e.status) for e in result] == [
        ("99", "not_found"),
        ("2", "found"),
        ("1", "found"),
    ]


async def test_unknown_type_marks_every_id_as_error_without_document_requests(
    client: FiberyClient, recorder: Recorder
) -> None:
    result = await client.fetch_entities("Scrum/Nope", ["1", "2"], EnrichmentType())
    assert [e.status for e in result] == ["error", "error"]
    assert result[0].error is not None
    assert "Scrum/Nope" in result[0].error
    assert paths(recorder) == ["/api/commands"]


async def test_other_failed_commands_are_bad_requests(
    client: FiberyClient, fake: FakeFibery
) -> None:
    fake.failure = {"name": "entity.error/field-not-found", "message": "No field Scrum/Points"}
    with pytest.raises(BadRequestError, match="No field Scrum/Points"):
        await client.fetch_entities(TASK, ["1"], ENRICHMENT)


async def test_schema_types(client: FiberyClient) -> None:
    assert await client.schema_types() == [TASK]


async def test_token_header_and_rejected_token(recorder: Recorder, client: FiberyClient) -> None:
    recorder.script = [httpx.Response(401, json={"message": "Unauthorized"})]
    with pytest.raises(AuthError, match="FIBERY_API_TOKEN") as caught:
        await client.schema_types()
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
        await client.schema_types()
    assert str(recorder.requests[0].url) == "http://127.0.0.1:8111/api/commands"


def test_missing_base_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="FIBERY_BASE_URL"):
        FiberyClient.create(FiberySettings(), HttpSettings(), SecretStr(TOKEN))
