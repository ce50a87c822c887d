from typing import Any

import httpx
import pytest

from volt_agent.sandbox import FiberySimulatorOptions, Workspace, create_fibery_app

from ._helpers import FakeClock, fibery_client

VOLT_AGENT_SELECT = {
    "id": "fibery/id",
    "public_id": "fibery/public-id",
    "name": "Scrum/Name",
    "state": ["workflow/state", "enum/name"],
    "description_secret": ["Scrum/Description", "Collaboration~Documents/secret"],
    "assignees": {
        "q/from": "assignments/assignees",
        "q/select": {"name": "user/name", "email": "user/email"},
        "q/limit": "q/no-limit",
    },
    "comments": {
        "q/from": "comments/comments",
        "q/select": {
            "author": ["comment/author", "user/name"],
            "created": "fibery/creation-date",
            "secret": "comment/document-secret",
        },
        "q/limit": "q/no-limit",
    },
}


def entity_query(query: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, Any]:
    args: dict[str, Any] = {"query": query}
    if params is not None:
        args["params"] = params
    return {"command": "fibery.entity/query", "args": args}


async def run(workspace: Workspace, *commands: dict[str, Any]) -> list[dict[str, Any]]:
    async with fibery_client(create_fibery_app(workspace)) as client:
        response = await client.post("/api/commands", json=list(commands))
    assert response.status_code == 200, response.text
    answers: list[dict[str, Any]] = response.json()
    return answers


def pick(workspace: Workspace, type_key: str, count: int) -> list[dict[str, Any]]:
    return workspace.fibery_entities[type_key][:count]


async def test_query_as_volt_agent_sends_it(workspace: Workspace) -> None:
    entities = pick(workspace, "Scrum/Task", 3)
    deleted = [r.public_id for r in workspace.deleted_refs if r.type_key == "Scrum/Task"]
    ids = [e["fibery/public-id"] for e in entities] + [*deleted, "99999999"]
    query = {
        "q/from": "Scrum/Task",
        "q/select": VOLT_AGENT_SELECT,
        "q/where": ["q/in", ["fibery/public-id"], "$ids"],
        "q/limit": 500,
    }
    (answer,) = await run(workspace, entity_query(query, {"$ids": ids}))

    assert answer["success"] is True
    result = answer["result"]
    assert [r["public_id"] for r in result] == [e["fibery/public-id"] for e in entities]
    first, source = result[0], entities[0]
    assert first["id"] == source["fibery/id"]
    assert first["name"] == source["Scrum/Name"]
    assert first["state"] == source["workflow/state"]["enum/name"]
    assert first["description_secret"] in workspace.documents
    assert first["assignees"] == [
        {"name": a["user/name"], "email": a["user/email"]} for a in source["assignments/assignees"]
    ]
    for selected, comment in zip(first["comments"], source["comments/comments"], strict=True):
        assert selected["secret"] == comment["comment/document-secret"]
        assert selected["author"] == comment["comment/author"]["user/name"]


async def test_list_form_select_and_equality_filter(workspace: Workspace) -> None:
    bug = pick(workspace, "Scrum/Bug", 1)[0]
    query = {
        "q/from": "Scrum/Bug",
        "q/select": [
            "fibery/public-id",
            "Scrum/Steps to reproduce",
            {"Scrum/Severity": ["enum/name"]},
            {"comments/comments": {"q/select": ["fibery/id"], "q/limit": 1}},
        ],
        "q/where": ["=", ["fibery/public-id"], "$id"],
        "q/limit": 1,
    }
    (answer,) = await run(workspace, entity_query(query, {"$id": bug["fibery/public-id"]}))

    (row,) = answer["result"]
    assert row["fibery/public-id"] == bug["fibery/public-id"]
    assert row["Scrum/Severity"] == bug["Scrum/Severity"]["enum/name"]
    assert row["Scrum/Steps to reproduce"] == bug["Scrum/Steps to reproduce"]
    assert len(row["comments/comments"]) == min(1, len(bug["comments/comments"]))


async def test_absent_paths_are_null(workspace: Workspace) -> None:
    query = {
        "q/from": "Scrum/Chore",
        "q/select": {"estimate": "Scrum/Estimate", "sprint": ["Scrum/Sprint", "Scrum/Name"]},
        "q/limit": 1,
    }
    (answer,) = await run(workspace, entity_query(query))
    assert answer["result"] == [{"estimate": None, "sprint": None}]


async def test_limit_offset_and_order(workspace: Workspace) -> None:
    tasks = workspace.fibery_entities["Scrum/Task"]
    query = {
        "q/from": "Scrum/Task",
        "q/select": {"created": "fibery/creation-date"},
        "q/order-by": [[["fibery/creation-date"], "q/desc"]],
        "q/offset": 2,
        "q/limit": 5,
    }
    (answer,) = await run(workspace, entity_query(query))
    expected = sorted((t["fibery/creation-date"] for t in tasks), reverse=True)[2:7]
    assert [r["created"] for r in answer["result"]] == expected


async def test_product_space_and_users(workspace: Workspace) -> None:
    query = {
        "q/from": "Product/Feature",
        "q/select": {
            "name": "Product/Name",
            "priority": ["Product/Priority", "enum/name"],
            "release": ["Product/Release", "Product/Name"],
        },
        "q/limit": "q/no-limit",
    }
    users = {"q/from": "fibery/user", "q/select": ["user/email"], "q/limit": 500}
    features, people = await run(workspace, entity_query(query), entity_query(users))
    assert len(features["result"]) == len(workspace.fibery_entities["Product/Feature"])
    assert all(f["release"].startswith("Q") for f in features["result"])
    assert len(people["result"]) == len(workspace.fibery_users)


@pytest.mark.parametrize(
    ("query", "params", "error"),
    [
        ({"q/from": "Scrum/Epic", "q/select": ["fibery/id"]}, None, "schema-type-not-found"),
        ({"q/from": "Scrum/Task", "q/select": ["workflow/state"]}, None, "primitive-field"),
        (
            {"q/from": "Scrum/Task", "q/select": {"a": ["assignments/assignees", "user/name"]}},
            None,
            "collection-field-vector-shape",
        ),
        (
            {
                "q/from": "Scrum/Task",
                "q/select": ["fibery/id"],
                "q/where": ["q/in", ["fibery/public-id"], "$ids"],
            },
            {},
            "param-missing",
        ),
        (
            {"q/from": "Scrum/Task", "q/select": ["fibery/id"], "q/where": ["~", ["x"], 1]},
            None,
            "operator-unknown",
        ),
        ({"q/from": "Scrum/Task", "q/select": ["fibery/id"], "q/limit": -1}, None, "query-invalid"),
        ({"q/from": "Scrum/Task"}, None, "query-invalid"),
    ],
)
async def test_failing_commands_answer_success_false(
    workspace: Workspace, query: dict[str, Any], params: dict[str, Any] | None, error: str
) -> None:
    ok = entity_query({"q/from": "Scrum/Task", "q/select": ["fibery/id"], "q/limit": 1})
    failing, fine = await run(workspace, entity_query(query, params), ok)
    assert failing["success"] is False
    assert error in failing["result"]["name"]
    assert failing["result"]["message"]
    assert fine["success"] is True


async def test_unknown_command_fails_alone(workspace: Workspace) -> None:
    (answer,) = await run(workspace, {"command": "fibery.entity/delete", "args": {}})
    assert answer["success"] is False


async def test_schema_query_lists_sandbox_types(workspace: Workspace) -> None:
    (answer,) = await run(workspace, {"command": "fibery.schema/query"})
    types = {t["fibery/name"]: t for t in answer["result"]["fibery/types"]}
    assert set(workspace.fibery_entities) <= set(types)
    fields = {f["fibery/name"] for f in types["Scrum/Task"]["fibery/fields"]}
    assert {"Scrum/Name", "Scrum/Estimate", "workflow/state", "comments/comments"} <= fields


@pytest.mark.parametrize(
    "body",
    [{"command": "fibery.schema/query"}, [{"args": {}}], ["fibery.schema/query"], "text"],
)
async def test_malformed_command_bodies_answer_400_json(workspace: Workspace, body: Any) -> None:
    async with fibery_client(create_fibery_app(workspace)) as client:
        response = await client.post("/api/commands", json=body)
        broken = await client.post("/api/commands", content=b"[{")
    assert response.status_code == broken.status_code == 400
    assert response.json()["message"]


async def test_documents_in_a_batch_and_one_by_one(workspace: Workspace) -> None:
    secrets = list(workspace.documents)[:3]
    async with fibery_client(create_fibery_app(workspace)) as client:
        batch = await client.post(
            "/api/documents/commands?format=md",
            json={
                "command": "get-documents",
                "args": [{"secret": s} for s in [*secrets, "no-such-secret"]],
            },
        )
        single = await client.get(f"/api/documents/{secrets[0]}", params={"format": "md"})
        missing = await client.get("/api/documents/no-such-secret?format=md")
        no_format = await client.get(f"/api/documents/{secrets[0]}")
        bad_batch = await client.post(
            "/api/documents/commands?format=md", json={"command": "get-everything", "args": []}
        )
    assert batch.json() == [{"secret": s, "content": workspace.documents[s]} for s in secrets]
    assert single.json() == {"secret": secrets[0], "content": workspace.documents[secrets[0]]}
    assert missing.status_code == 404
    assert no_format.status_code == 400
    assert bad_batch.status_code == 400
    assert bad_batch.json()["message"]


@pytest.mark.parametrize("authorization", [None, "Token wrong", "Bearer fibery-sandbox-token"])
async def test_bad_or_missing_token_answers_401_json(
    workspace: Workspace, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    transport = httpx.ASGITransport(app=create_fibery_app(workspace))
    async with httpx.AsyncClient(transport=transport, base_url="http://fibery.test") as client:
        commands = await client.post("/api/commands", json=[], headers=headers)
        document = await client.get("/api/documents/x?format=md", headers=headers)
    assert commands.status_code == document.status_code == 401
    assert "message" in commands.json()


async def test_rate_limit_answers_429_with_retry_after(workspace: Workspace) -> None:
    clock = FakeClock()
    options = FiberySimulatorOptions(requests_per_second=3.0, burst=3, clock=clock)
    app = create_fibery_app(workspace, options)
    async with fibery_client(app) as client:
        statuses = [(await client.post("/api/commands", json=[])).status_code for _ in range(4)]
        clock.advance(0.34)
        after_wait = await client.post("/api/commands", json=[])
        limited = await client.post("/api/commands", json=[])
    assert statuses == [200, 200, 200, 429]
    assert after_wait.status_code == 200
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["message"]


async def test_counts_requests_and_entity_queries(workspace: Workspace) -> None:
    app = create_fibery_app(workspace)
    query = entity_query({"q/from": "Scrum/Task", "q/select": ["fibery/id"], "q/limit": 1})
    secret = next(iter(workspace.documents))
    async with fibery_client(app) as client:
        await client.post("/api/commands", json=[query, query, {"command": "fibery.schema/query"}])
        await client.post("/api/commands", json=[query])
        await client.post(
            "/api/documents/commands?format=md",
            json={"command": "get-documents", "args": [{"secret": secret}]},
        )
        await client.get(f"/api/documents/{secret}?format=md")
        over_http = (await client.get("/_sandbox/stats")).json()
        cleared = (await client.delete("/_sandbox/stats")).json()
    assert over_http == {
        **over_http,
        "fibery.commands": 2,
        "fibery.entity_query": 3,
        "fibery.schema_query": 1,
        "fibery.documents_commands": 1,
        "fibery.document_get": 1,
        "fibery.documents_served": 2,
        "requests": 4,
        "status.200": 4,
    }
    assert cleared["requests"] == 0
    assert app.state.stats.snapshot()["fibery.commands"] == 0
