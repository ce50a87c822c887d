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
        "q/limit": 100,
    },
    "comment_count": ["q/count", ["comments/comments", "fibery/id"]],
    "comments": {
        "q/from": "comments/comments",
        "q/select": {
            "author": ["comment/author", "user/name"],
            "created": "fibery/creation-date",
            "secret": "comment/document-secret",
        },
        "q/order-by": [[["fibery/creation-date"], "q/desc"]],
        "q/limit": 2,
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
    tasks = workspace.fibery_entities["Scrum/Task"]
    chatty = next(t for t in tasks if len(t["comments/comments"]) > 2)
    entities = [chatty, *(t for t in tasks[:3] if t is not chatty)]
    order = {t["fibery/public-id"]: i for i, t in enumerate(tasks)}
    entities.sort(key=lambda t: order[t["fibery/public-id"]])
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
    for row, source in zip(result, entities, strict=True):
        assert row["id"] == source["fibery/id"]
        assert row["name"] == source["Scrum/Name"]
        assert row["state"] == source["workflow/state"]["enum/name"]
        assert row["description_secret"] in workspace.documents
        assert row["assignees"] == [
            {"name": a["user/name"], "email": a["user/email"]}
            for a in source["assignments/assignees"]
        ]
        comments = source["comments/comments"]
        assert row["comment_count"] == len(comments)
        newest = sorted(comments, key=lambda c: c["fibery/creation-date"], reverse=True)[:2]
        assert [c["secret"] for c in row["comments"]] == [
            c["comment/document-secret"] for c in newest
        ]
        assert [c["author"] for c in row["comments"]] == [
            c["comment/author"]["user/name"] for c in newest
        ]
    assert result[[e is chatty for e in entities].index(True)]["comment_count"] > 2


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


def chore_query(**parts: Any) -> dict[str, Any]:
    return {"q/from": "Scrum/Chore", "q/select": {"id": "fibery/id"}, "q/limit": 1, **parts}


@pytest.mark.parametrize(
    ("query", "field", "holder"),
    [
        (chore_query(**{"q/select": {"estimate": "Scrum/Estimate"}}), "Scrum/Estimate", "Chore"),
        (
            chore_query(**{"q/select": {"sprint": ["Scrum/Sprint", "Scrum/Name"]}}),
            "Scrum/Sprint",
            "Chore",
        ),
        (
            chore_query(**{"q/select": ["fibery/id", {"Scrum/Sprint": ["Scrum/Name"]}]}),
            "Scrum/Sprint",
            "Chore",
        ),
        (
            chore_query(
                **{"q/select": {"c": {"q/from": "comments/comments", "q/select": ["fibery/id"]}}}
            ),
            "comments/comments",
            "Chore",
        ),
        (
            chore_query(**{"q/select": {"a": ["assignments/assignees", "user/name"]}}),
            "assignments/assignees",
            "Chore",
        ),
        (
            {
                "q/from": "Scrum/Task",
                "q/select": {"sprint": ["Scrum/Sprint", "Scrum/Title"]},
                "q/limit": 1,
            },
            "Scrum/Title",
            "Sprint",
        ),
        (
            {
                "q/from": "Scrum/Task",
                "q/select": {
                    "c": {
                        "q/from": "comments/comments",
                        "q/select": {"text": "comment/text"},
                        "q/limit": 5,
                    }
                },
                "q/limit": 1,
            },
            "comment/text",
            "comment",
        ),
        (chore_query(**{"q/where": ["=", ["Scrum/Estimate"], 3]}), "Scrum/Estimate", "Chore"),
        (
            chore_query(**{"q/order-by": [[["Scrum/Started"], "q/asc"]]}),
            "Scrum/Started",
            "Chore",
        ),
        (
            {
                "q/from": "Scrum/Build",
                "q/select": {"s": ["workflow/state", "enum/name"]},
                "q/limit": 1,
            },
            "workflow/state",
            "Build",
        ),
        (
            {"q/from": "Product/Feature", "q/select": {"name": "Product/Name"}, "q/limit": 1},
            "Product/Name",
            "Feature",
        ),
        (
            {
                "q/from": "Scrum/Task",
                "q/select": {"points": "Scrum/Story Points_b71e04_deleted"},
                "q/limit": 1,
            },
            "Scrum/Story Points_b71e04_deleted",
            "Task",
        ),
    ],
    ids=[
        "primitive",
        "path",
        "list-form-path",
        "sub-query",
        "collection-path",
        "inside-path",
        "inside-sub-query",
        "where",
        "order-by",
        "no-workflow",
        "lower-case-name",
        "deleted-field",
    ],
)
async def test_fields_a_type_lacks_fail_the_command(
    workspace: Workspace, query: dict[str, Any], field: str, holder: str
) -> None:
    ok = entity_query({"q/from": "Scrum/Task", "q/select": ["fibery/id"], "q/limit": 1})
    failing, fine = await run(workspace, entity_query(query), ok)
    assert failing == {
        "success": False,
        "result": {
            "name": "entity.error/schema-field-not-found",
            "message": failing["result"]["message"],
        },
    }
    message = failing["result"]["message"]
    assert message.startswith(f'"{field}" field was not found in "')
    assert message.endswith(f'{holder}" database.')
    assert fine["success"] is True


async def test_empty_types_fail_on_fields_too(workspace: Workspace) -> None:
    query = {"q/from": "Scrum/Sprint", "q/select": ["Scrum/Nope"], "q/limit": 1}
    (answer,) = await run(workspace, entity_query(query))
    assert answer["result"] == {
        "name": "entity.error/schema-field-not-found",
        "message": '"Scrum/Nope" field was not found in "Scrum/Sprint" database.',
    }


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
            "name": "Product/name",
            "priority": ["Product/Priority", "enum/name"],
            "release": ["Product/Release", "Product/name"],
        },
        "q/limit": "q/no-limit",
    }
    users = {"q/from": "fibery/user", "q/select": ["user/email"], "q/limit": 500}
    features, people = await run(workspace, entity_query(query), entity_query(users))
    assert len(features["result"]) == len(workspace.fibery_entities["Product/Feature"])
    assert all(f["release"].startswith("Q") for f in features["result"])
    assert all(f["name"] for f in features["result"])
    assert len(people["result"]) == len(workspace.fibery_users)


@pytest.mark.parametrize(
    ("query", "params", "error"),
    [
        ({"q/from": "Scrum/Epic", "q/select": ["fibery/id"]}, None, "schema-type-not-found"),
        (
            {"q/from": "Scrum/Task", "q/select": ["workflow/state"], "q/limit": 1},
            None,
            "primitive-field",
        ),
        (
            {
                "q/from": "Scrum/Task",
                "q/select": {"a": ["assignments/assignees", "user/name"]},
                "q/limit": 1,
            },
            None,
            "collection-field-vector-shape",
        ),
        (
            {
                "q/from": "Scrum/Task",
                "q/select": ["fibery/id"],
                "q/where": ["q/in", ["fibery/public-id"], "$ids"],
                "q/limit": 1,
            },
            {},
            "param-missing",
        ),
        (
            {
                "q/from": "Scrum/Task",
                "q/select": ["fibery/id"],
                "q/where": ["~", ["x"], 1],
                "q/limit": 1,
            },
            None,
            "operator-unknown",
        ),
        ({"q/from": "Scrum/Task", "q/select": ["fibery/id"], "q/limit": -1}, None, "query-invalid"),
        ({"q/from": "Scrum/Task", "q/select": ["fibery/id"]}, None, "query-invalid"),
        ({"q/from": "Scrum/Task", "q/limit": 1}, None, "query-invalid"),
        (
            {"q/from": "Scrum/Task", "q/select": ["fibery/id"], "q/limit": 1001},
            None,
            "query-invalid",
        ),
        (
            {
                "q/from": "Scrum/Task",
                "q/select": {
                    "c": {
                        "q/from": "comments/comments",
                        "q/select": ["fibery/id"],
                        "q/limit": "q/no-limit",
                    }
                },
                "q/limit": 1,
            },
            None,
            "sub-query-no-limit-unsupported",
        ),
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


async def test_schema_query_is_shaped_as_documented(workspace: Workspace) -> None:
    (answer,) = await run(workspace, {"command": "fibery.schema/query"})
    assert answer["success"] is True
    schema = answer["result"]
    assert isinstance(schema["fibery/id"], str)
    assert schema["fibery/meta"]
    types = {t["fibery/name"]: t for t in schema["fibery/types"]}
    assert set(workspace.fibery_entities) <= set(types)
    for item in schema["fibery/types"]:
        assert set(item) >= {"fibery/name", "fibery/fields", "fibery/meta", "fibery/id"}
        assert {"fibery/primitive?", "fibery/domain?"} <= set(item["fibery/meta"])
        for field in item["fibery/fields"]:
            assert set(field) >= {"fibery/name", "fibery/type", "fibery/meta", "fibery/id"}
    task = {f["fibery/name"]: f for f in types["Scrum/Task"]["fibery/fields"]}
    assert {"Scrum/Name", "Scrum/Estimate", "workflow/state", "comments/comments"} <= set(task)
    assert task["Scrum/Name"]["fibery/meta"]["ui/title?"] is True
    assert task["assignments/assignees"]["fibery/type"] == "fibery/user"
    assert task["assignments/assignees"]["fibery/meta"]["fibery/collection?"] is True
    assert isinstance(task["assignments/assignees"]["fibery/meta"]["fibery/relation"], str)
    assert task["Scrum/Description"]["fibery/type"] == "Collaboration~Documents/Document"
    assert task["workflow/state"]["fibery/type"] == "workflow/state_Scrum/Task"
    assert types["Scrum/Task"]["fibery/meta"]["app/mixins"]["workflow/workflow"] is True
    assert types["workflow/state_Scrum/Task"]["fibery/meta"]["fibery/enum?"] is True
    bug = {f["fibery/name"]: f for f in types["Scrum/Bug"]["fibery/fields"]}
    assert bug["Scrum/Severity"]["fibery/type"] == "Scrum/Severity_Scrum/Bug"
    assert "Scrum/Severity_Scrum/Bug" in types
    for system in ("fibery/user", "comments/comment", "Collaboration~Documents/Document"):
        assert types[system]["fibery/meta"]["fibery/domain?"] is False
    assert types["fibery/text"]["fibery/meta"]["fibery/primitive?"] is True


async def test_schema_has_deleted_tombstones_and_types_without_mixins(
    workspace: Workspace,
) -> None:
    (answer,) = await run(workspace, {"command": "fibery.schema/query"})
    types = {t["fibery/name"]: t for t in answer["result"]["fibery/types"]}
    deleted = [name for name, t in types.items() if t.get("fibery/deleted?") is True]
    assert deleted == ["Scrum/Epic_3f9a1c_deleted"]
    task_fields = types["Scrum/Task"]["fibery/fields"]
    assert [f["fibery/name"] for f in task_fields if f.get("fibery/deleted?")] == [
        "Scrum/Story Points_b71e04_deleted"
    ]

    def fields(type_key: str) -> set[str]:
        return {f["fibery/name"] for f in types[type_key]["fibery/fields"]}

    def mixins(type_key: str) -> set[str]:
        return set(types[type_key]["fibery/meta"]["app/mixins"])

    assert "workflow/state" not in fields("Scrum/Build")
    assert "Scrum/Description" not in fields("Scrum/Build")
    assert "workflow/workflow" not in mixins("Scrum/Build")
    assert {"assignments/assignees", "comments/comments"}.isdisjoint(fields("Scrum/Chore"))
    assert {"assignments/assignments-mixin", "comments/comments-mixin"}.isdisjoint(
        mixins("Scrum/Chore")
    )
    assert "Product/name" in fields("Product/Feature")
    assert "Product/Name" not in fields("Product/Feature")
    assert "Product/name" in fields("Product/Release")


async def test_deleted_type_is_not_found(workspace: Workspace) -> None:
    for name in ("Scrum/Epic", "Scrum/Epic_3f9a1c_deleted"):
        query = {"q/from": name, "q/select": ["fibery/id"], "q/limit": 1}
        (answer,) = await run(workspace, entity_query(query))
        assert answer["result"] == {
            "name": "entity.error/schema-type-not-found",
            "message": f"{name} database was not found.",
        }


async def post_commands(
    workspace: Workspace, options: FiberySimulatorOptions, commands: list[dict[str, Any]]
) -> httpx.Response:
    async with fibery_client(create_fibery_app(workspace, options)) as client:
        return await client.post("/api/commands", json=commands)


async def test_per_command_failures_leave_the_other_commands_answered(
    workspace: Workspace,
) -> None:
    ok = entity_query({"q/from": "Scrum/Task", "q/select": ["fibery/id"], "q/limit": 2})
    bad = entity_query({"q/from": "Scrum/Chore", "q/select": ["Scrum/Estimate"], "q/limit": 1})
    options = FiberySimulatorOptions(command_failure_mode="per_command")
    response = await post_commands(workspace, options, [ok, bad, ok])
    assert response.status_code == 200
    first, failed, last = response.json()
    assert first["success"] is last["success"] is True
    assert len(first["result"]) == 2
    assert failed["success"] is False
    assert failed["result"]["name"] == "entity.error/schema-field-not-found"


async def test_batch_4xx_mode_refuses_the_whole_request(workspace: Workspace) -> None:
    ok = entity_query({"q/from": "Scrum/Task", "q/select": ["fibery/id"], "q/limit": 2})
    bad = entity_query({"q/from": "Scrum/Chore", "q/select": ["Scrum/Estimate"], "q/limit": 1})
    options = FiberySimulatorOptions(command_failure_mode="batch_4xx")
    refused = await post_commands(workspace, options, [ok, bad, ok])
    fine = await post_commands(workspace, options, [ok, ok])
    assert refused.status_code == 400
    assert refused.json() == {
        "name": "entity.error/schema-field-not-found",
        "message": '"Scrum/Estimate" field was not found in "Scrum/Chore" database.',
    }
    assert fine.status_code == 200
    assert [r["success"] for r in fine.json()] == [True, True]


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="command_failure_mode"):
        FiberySimulatorOptions(command_failure_mode="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="workspace_requests_per_second"):
        FiberySimulatorOptions(workspace_requests_per_second=0)
    with pytest.raises(ValueError, match="max_secrets_per_documents_call"):
        FiberySimulatorOptions(max_secrets_per_documents_call=0)


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
        default_format = await client.post(
            "/api/documents/commands",
            json={"command": "get-documents", "args": [{"secret": secrets[1]}]},
        )
        single = await client.get(f"/api/documents/{secrets[0]}", params={"format": "md"})
        missing = await client.get("/api/documents/no-such-secret?format=md")
        no_format = await client.get(f"/api/documents/{secrets[0]}")
        html = await client.get(f"/api/documents/{secrets[0]}?format=html")
        bad_batch = await client.post(
            "/api/documents/commands?format=md", json={"command": "get-everything", "args": []}
        )
    assert batch.json() == [{"secret": s, "content": workspace.documents[s]} for s in secrets]
    assert default_format.json() == [
        {"secret": secrets[1], "content": workspace.documents[secrets[1]]}
    ]
    assert single.json() == {"secret": secrets[0], "content": workspace.documents[secrets[0]]}
    assert no_format.json() == single.json()
    assert missing.status_code == 404
    assert html.status_code == 400
    assert bad_batch.status_code == 400
    assert bad_batch.json()["message"]


@pytest.mark.parametrize(("cap", "sent", "status"), [(100, 100, 200), (100, 101, 400), (5, 6, 400)])
async def test_get_documents_caps_secrets_per_call(
    workspace: Workspace, cap: int, sent: int, status: int
) -> None:
    secrets = list(workspace.documents)[:sent]
    assert len(secrets) == sent
    options = FiberySimulatorOptions(max_secrets_per_documents_call=cap)
    async with fibery_client(create_fibery_app(workspace, options)) as client:
        response = await client.post(
            "/api/documents/commands?format=md",
            json={"command": "get-documents", "args": [{"secret": s} for s in secrets]},
        )
        stats = (await client.get("/_sandbox/stats")).json()
    assert response.status_code == status
    if status == 200:
        assert len(response.json()) == sent
    else:
        assert str(cap) in response.json()["message"]
        assert stats["fibery.documents_served"] == 0


def test_the_default_cap_admits_the_batches_public_code_sends() -> None:
    cap = FiberySimulatorOptions().max_secrets_per_documents_call
    assert cap is not None
    assert cap >= 50


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


async def test_429_without_retry_after_when_switched_off(workspace: Workspace) -> None:
    options = FiberySimulatorOptions(
        requests_per_second=1.0, retry_after_header=False, clock=FakeClock()
    )
    async with fibery_client(create_fibery_app(workspace, options)) as client:
        first = await client.post("/api/commands", json=[])
        limited = await client.post("/api/commands", json=[])
    assert first.status_code == 200
    assert limited.status_code == 429
    assert "Retry-After" not in limited.headers


async def test_every_token_has_its_own_bucket_and_the_workspace_one_more(
    workspace: Workspace,
) -> None:
    clock = FakeClock()
    tokens = ("fibery-sandbox-token", "second-token-aaaa", "third-token-bbbb")
    options = FiberySimulatorOptions(
        requests_per_second=3.0,
        burst=3,
        workspace_requests_per_second=7.0,
        extra_tokens=tokens[1:],
        clock=clock,
    )
    app = create_fibery_app(workspace, options)
    clients = [fibery_client(app, token) for token in tokens]

    async def second(per_token: int) -> list[list[int]]:
        """Each token sends ``per_token`` requests in the same instant."""
        return [
            [(await c.post("/api/commands", json=[])).status_code for _ in range(per_token)]
            for c in clients
        ]

    try:
        two_tokens = [
            [(await c.post("/api/commands", json=[])).status_code for _ in range(3)]
            for c in clients[:2]
        ]
        clock.advance(1.0)
        three_tokens = await second(3)
        clock.advance(1.0)
        fourth = [(await clients[0].post("/api/commands", json=[])).status_code for _ in range(4)]
    finally:
        for c in clients:
            await c.aclose()
    stats = app.state.stats.snapshot()
    assert two_tokens == [[200] * 3, [200] * 3]  # 6 at once: within each token and 7/s
    # 9 at once from three tokens, each within its own 3/s: the workspace admits 7.
    assert sum(s.count(200) for s in three_tokens) == 7
    assert sum(s.count(429) for s in three_tokens) == 2
    assert three_tokens[0] == [200] * 3
    assert fourth == [200, 200, 200, 429]  # the token's own bucket, not the workspace's
    assert stats["rate_limited.workspace"] == 2
    assert stats["rate_limited"] == 3


async def test_unknown_tokens_are_refused_with_extra_tokens_set(workspace: Workspace) -> None:
    options = FiberySimulatorOptions(extra_tokens=("second-token-aaaa",))
    app = create_fibery_app(workspace, options)
    async with fibery_client(app, "second-token-aaaa") as good, fibery_client(app, "x") as bad:
        assert (await good.post("/api/commands", json=[])).status_code == 200
        assert (await bad.post("/api/commands", json=[])).status_code == 401


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
