"""The simulator's ``fibery.entity/create`` and ``create-or-update-documents``: validated."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from volt_agent.sandbox import FiberySimulatorOptions, Workspace, create_fibery_app
from volt_agent.sandbox._fibery_schema import REPORT_TYPE
from volt_agent.sandbox.fibery_sim import fibery_writes

from ._helpers import fibery_client

ID = str(uuid.UUID(int=7))


def create(entity: dict[str, Any], type_name: str = REPORT_TYPE) -> dict[str, Any]:
    return {"command": "fibery.entity/create", "args": {"type": type_name, "entity": entity}}


def by_id(select: dict[str, Any], entity_id: str = ID) -> dict[str, Any]:
    query = {
        "q/from": REPORT_TYPE,
        "q/select": select,
        "q/where": ["=", ["fibery/id"], "$id"],
        "q/limit": 1,
    }
    return {
        "command": "fibery.entity/query",
        "args": {"query": query, "params": {"$id": entity_id}},
    }


REPORT = {"fibery/id": ID, "Reports/Name": "Team report", "Reports/Period": "2026-11-16..22"}


async def test_create_then_query_the_secret_and_write_the_document(workspace: Workspace) -> None:
    app = create_fibery_app(workspace)
    select = {"id": "fibery/id", "secret": ["Reports/Summary", "Collaboration~Documents/secret"]}
    async with fibery_client(app) as client:
        created = await client.post("/api/commands", json=[create(REPORT), by_id(select)])
        [made, found] = created.json()
        secret = found["result"][0]["secret"]
        written = await client.post(
            "/api/documents/commands",
            params={"format": "md"},
            json={
                "command": "create-or-update-documents",
                "args": [{"secret": secret, "content": "# Team\n\n12 h"}],
            },
        )
        read = await client.get(f"/api/documents/{secret}", params={"format": "md"})

    assert made["success"] is True
    assert made["result"]["fibery/id"] == ID
    assert made["result"]["Reports/Name"] == "Team report"
    assert made["result"]["fibery/public-id"] == "1"
    assert "Reports/Summary" not in made["result"]
    assert found == {"success": True, "result": [{"id": ID, "secret": secret}]}
    assert (written.status_code, written.json()) == (200, True)
    assert read.json() == {"secret": secret, "content": "# Team\n\n12 h"}
    writes = fibery_writes(app)
    [entity] = writes.entities(REPORT_TYPE)
    assert entity["Reports/Period"] == "2026-11-16..22"
    assert writes.documents_written == [secret]
    assert writes.contents == {secret: "# Team\n\n12 h"}
    assert secret not in workspace.documents  # the cached workspace is never written


@pytest.mark.parametrize(
    ("command", "name", "message"),
    [
        (create(REPORT, "Reports/Daily"), "schema-type-not-found", "Reports/Daily database"),
        (create({**REPORT, "Reports/Owner": "x"}), "schema-field-not-found", '"Reports/Owner"'),
        (create({**REPORT, "Reports/Name": 42}), "field-value-invalid", "not a valid fibery/text"),
        (create({**REPORT, "fibery/id": "run-1"}), "field-value-invalid", "fibery/uuid"),
        (create({**REPORT, "fibery/public-id": "9"}), "field-read-only", "read-only"),
        (create({**REPORT, "Reports/Summary": "# x"}), "not-settable-on-create", "rich-text"),
        (create({**REPORT, "Scrum/Name": "x"}), "schema-field-not-found", "Weekly Report"),
        (
            {"command": "fibery.entity/create", "args": {"type": REPORT_TYPE}},
            "create-invalid",
            "args.entity",
        ),
    ],
)
async def test_a_create_the_schema_refuses_fails_and_creates_nothing(
    workspace: Workspace, command: dict[str, Any], name: str, message: str
) -> None:
    app = create_fibery_app(workspace)
    async with fibery_client(app) as client:
        response = await client.post("/api/commands", json=[command])
    [answer] = response.json()
    assert answer["success"] is False
    assert answer["result"]["name"].endswith(name)
    assert message in answer["result"]["message"]
    assert fibery_writes(app).created == []


async def test_a_second_create_with_the_same_id_is_refused(workspace: Workspace) -> None:
    app = create_fibery_app(workspace)
    async with fibery_client(app) as client:
        first = await client.post("/api/commands", json=[create(REPORT)])
        again = await client.post("/api/commands", json=[create(REPORT)])
    assert first.json()[0]["success"] is True
    assert again.json()[0]["result"]["name"] == "entity.error/entity-already-exists"
    assert len(fibery_writes(app).entities(REPORT_TYPE)) == 1


async def test_in_batch_4xx_mode_a_refused_create_fails_the_request(workspace: Workspace) -> None:
    app = create_fibery_app(workspace, FiberySimulatorOptions(command_failure_mode="batch_4xx"))
    async with fibery_client(app) as client:
        response = await client.post("/api/commands", json=[create({"Reports/Name": 1})])
    assert response.status_code == 400
    assert response.json()["name"] == "entity.error/field-value-invalid"


async def test_a_malformed_document_write_is_a_400(workspace: Workspace) -> None:
    app = create_fibery_app(workspace)
    async with fibery_client(app) as client:
        response = await client.post(
            "/api/documents/commands",
            json={"command": "create-or-update-documents", "args": [{"secret": "s"}]},
        )
    assert response.status_code == 400
    assert "content" in response.json()["message"]
    assert fibery_writes(app).documents_written == []
