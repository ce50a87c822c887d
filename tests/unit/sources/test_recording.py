"""``RecordingTransport``, ``Masker`` and ``replay_transport``: what a recording holds, what it
never holds, and that it answers a client the same way again."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from tests.unit.sources.fakes import TOKEN
from volt_agent.config import FiberySettings, HttpSettings, TogglSettings
from volt_agent.sources.fibery import FiberyClient
from volt_agent.sources.recording import REDACTED, Masker, RecordingTransport, person_aliases
from volt_agent.sources.replay import ReplayMismatch, load_exchanges, replay_transport
from volt_agent.sources.toggl import TogglClient

HTTP = HttpSettings(max_retries=0)
TOGGL = TogglSettings(base_url="https://toggl.test", workspace_id=77, requests_per_second=1000)
FIBERY = FiberySettings(base_url="https://acme.fibery.test", requests_per_second=1000)
ME = {
    "id": 5,
    "email": "Jane.Roe@corp.example",
    "fullname": "Jane Roe",
    "api_token": TOKEN,
    "default_workspace_id": 77,
}
USERS = [
    {"id": 5, "email": "jane.roe@corp.example", "fullname": "Jane Roe", "is_admin": True},
    {"id": 6, "email": "max@corp.example", "name": "Max Mustermann", "is_admin": False},
]


def toggl_api(request: httpx.Request) -> httpx.Response:
    quota = {"X-Toggl-Quota-Remaining": "27", "X-Toggl-Quota-Resets-In": "3500"}
    if request.url.path == "/api/v9/me":
        return httpx.Response(200, json=ME, headers={**quota, "Set-Cookie": f"s={TOKEN}"})
    if request.url.path == "/api/v9/workspaces/77/users":
        body = gzip.compress(json.dumps(USERS).encode())
        headers = {**quota, "Content-Encoding": "gzip", "Content-Type": "application/json"}
        return httpx.Response(200, content=body, headers=headers)
    return httpx.Response(403, text="Incorrect username and/or password")


def listing(directory: Path, pattern: str = "*") -> list[Path]:
    return sorted(directory.glob(pattern))


def recorded_files(directory: Path) -> str:
    return "\n".join(path.read_text() for path in sorted(directory.iterdir()))


def toggl_client(transport: httpx.AsyncBaseTransport) -> TogglClient:
    return TogglClient.create(TOGGL, HTTP, SecretStr(TOKEN), transport)


async def test_each_exchange_is_one_masked_file_and_the_client_gets_the_real_answer(
    tmp_path: Path,
) -> None:
    masker = Masker([TOKEN])
    transport = RecordingTransport(httpx.MockTransport(toggl_api), tmp_path, masker, source="toggl")
    async with toggl_client(transport) as client:
        me = await client.me()
        users = await client.workspace_users()
    assert (me.email, me.name) == ("Jane.Roe@corp.example", "Jane Roe")
    assert [(u.id, u.name) for u in users] == [(5, "Jane Roe"), (6, "")]

    names = [p.name for p in listing(tmp_path)]
    assert names == [
        "toggl-0001-GET-api-v9-me.json",
        "toggl-0002-GET-api-v9-workspaces-77-users.json",
    ]
    first = json.loads((tmp_path / names[0]).read_text())
    assert first["request"]["method"] == "GET"
    assert first["request"]["url"] == "/api/v9/me"
    assert {"authorization", "host"}.isdisjoint(h.lower() for h in first["request"]["headers"])
    assert "set-cookie" not in {h.lower() for h in first["response"]["headers"]}
    assert first["response"]["headers"]["x-toggl-quota-remaining"] == "27"
    assert first["response"]["json"] == {
        "id": 5,
        "email": "user1@example.invalid",
        "fullname": "Person 1",
        "api_token": REDACTED,
        "default_workspace_id": 77,
    }
    second = json.loads((tmp_path / names[1]).read_text())
    assert "content-encoding" not in second["response"]["headers"]
    assert second["response"]["json"] == [
        {"id": 5, "email": "user1@example.invalid", "fullname": "Person 1", "is_admin": True},
        {"id": 6, "email": "user2@example.invalid", "name": "Person 2", "is_admin": False},
    ]
    text = recorded_files(tmp_path)
    for secret in (TOKEN, "corp.example", "Jane", "Roe", "Max", "Mustermann"):
        assert secret not in text


async def test_a_text_answer_is_recorded_as_text(tmp_path: Path) -> None:
    transport = RecordingTransport(
        httpx.MockTransport(toggl_api), tmp_path, Masker([TOKEN]), source="toggl"
    )
    async with toggl_client(transport) as client:
        with pytest.raises(Exception, match="HTTP 403"):
            await client.projects()
    [path] = listing(tmp_path)
    record = json.loads(path.read_text())
    assert record["response"]["status"] == 403
    assert record["response"]["text"] == "Incorrect username and/or password"
    assert "json" not in record["response"]


def fibery_api(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    query = body[0]["args"]["query"]
    assert query["q/select"]["assignees"]["q/select"]["name"] == "user/name"
    return httpx.Response(
        200,
        json=[
            {
                "success": True,
                "result": [
                    {
                        "public_id": "12",
                        "name": "Fix login for Ada Lovelace",
                        "assignees": [{"name": "Ada Lovelace", "email": "ada@corp.example"}],
                        "comments": [{"author": "Grace Hopper", "secret": "doc-1"}],
                    }
                ],
            }
        ],
    )


async def test_fibery_person_aliases_are_masked_and_known_names_are_scrubbed_from_text(
    tmp_path: Path,
) -> None:
    transport = RecordingTransport(
        httpx.MockTransport(fibery_api), tmp_path, Masker(["fibery-secret-token"]), source="fibery"
    )
    query = {
        "q/from": "Scrum/Task",
        "q/select": {
            "public_id": "fibery/public-id",
            "name": "Scrum/Name",
            "assignees": {"q/from": "assignments/assignees", "q/select": {"name": "user/name"}},
            "comments": {
                "q/from": "comments/comments",
                "q/select": {"author": ["comment/author", "user/name"], "secret": "x"},
            },
        },
        "q/limit": 1,
    }
    command = {"command": "fibery.entity/query", "args": {"query": query, "params": {}}}
    async with FiberyClient.create(
        FIBERY, HTTP, SecretStr("fibery-secret-token"), transport
    ) as client:
        [answer] = await client.run_commands([command])
    assert answer.result[0]["assignees"][0]["name"] == "Ada Lovelace"
    [path] = listing(tmp_path)
    assert path.name == "fibery-0001-POST-api-commands.json"
    row = json.loads(path.read_text())["response"]["json"][0]["result"][0]
    assert row["assignees"] == [{"name": "Person 1", "email": "user1@example.invalid"}]
    assert row["comments"] == [{"author": "Person 2", "secret": "doc-1"}]
    assert row["name"] == "Fix login for Person 1"
    text = recorded_files(tmp_path)
    for secret in (
        "Ada",
        "Lovelace",
        "Grace",
        "Hopper",
        "corp.example",
        "fibery-secret-token",
        "acme",
    ):
        assert secret not in text


def test_person_aliases_come_from_user_name_selectors() -> None:
    body = [
        {
            "args": {
                "query": {
                    "q/select": {
                        "who": "user/name",
                        "by": ["comment/author", "user/name"],
                        "title": "Scrum/Name",
                        "name": "Scrum/Name",
                        "assignees": {"q/select": {"name": "user/name"}},
                    }
                }
            }
        }
    ]
    assert person_aliases(body) == {"who", "by"}  # "name" also selects an entity's title


def test_masker_pseudonyms_are_stable_and_case_insensitive_for_emails() -> None:
    masker = Masker(["s3cr3t-token"])
    assert masker.email("A@x.example") == masker.email("a@X.example") == "user1@example.invalid"
    assert masker.email("b@x.example") == "user2@example.invalid"
    assert masker.person("Ann Lee") == masker.person("Ann Lee") == "Person 1"
    assert masker.text("mail a@x.example, token s3cr3t-token, Ann Lee") == (
        f"mail user1@example.invalid, token {REDACTED}, Person 1"
    )
    assert masker.text("Annabelle") == "Annabelle"


async def test_replay_answers_like_the_recording_in_order_per_url(tmp_path: Path) -> None:
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(503, text="busy")
        return toggl_api(request)

    transport = RecordingTransport(
        httpx.MockTransport(flaky), tmp_path, Masker([TOKEN]), source="toggl"
    )
    http = HttpSettings(max_retries=2, backoff_initial_seconds=0, backoff_max_seconds=0)
    async with TogglClient.create(TOGGL, http, SecretStr(TOKEN), transport) as client:
        live = (await client.me(), await client.workspace_users())
    assert [e.status for e in load_exchanges(tmp_path, "toggl")] == [503, 200, 200]

    replay = replay_transport(tmp_path, "toggl")
    async with TogglClient.create(TOGGL, http, SecretStr("other"), replay) as client:
        replayed = (await client.me(), await client.workspace_users())
        assert client.stats.total == 3
        assert client.stats.quota_remaining == 27
        with pytest.raises(ReplayMismatch, match="GET /api/v9/workspaces/77/projects"):
            await client.projects()
    assert replayed[0].id == live[0].id
    assert replayed[0].email == "user1@example.invalid"
    assert [u.id for u in replayed[1]] == [u.id for u in live[1]]


async def test_numbering_continues_after_files_already_in_the_folder(tmp_path: Path) -> None:
    (tmp_path / "toggl-0007-GET-api-v9-me.json").write_text(
        json.dumps(
            {
                "source": "toggl",
                "sequence": 7,
                "request": {"method": "GET", "url": "/api/v9/me", "headers": {}},
                "response": {"status": 200, "headers": {}, "json": {}},
            }
        )
    )
    transport = RecordingTransport(
        httpx.MockTransport(toggl_api), tmp_path, Masker([TOKEN]), source="toggl"
    )
    async with toggl_client(transport) as client:
        await client.workspace_users()
    assert (tmp_path / "toggl-0008-GET-api-v9-workspaces-77-users.json").is_file()
    assert not listing(tmp_path, ".*")  # no temp file left behind
