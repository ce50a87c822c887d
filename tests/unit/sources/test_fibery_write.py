"""The Fibery client's writes: the requests it sends and how it reads the answers."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from volt_agent.config import FiberySettings, HttpSettings
from volt_agent.errors import BadRequestError, ResponseFormatError
from volt_agent.sources.fibery import FiberyClient
from volt_agent.sources.fibery_write import create_entity, find_by_id

ID = "3f2d8a4e-0000-4000-8000-000000000001"
SELECT = {"id": "fibery/id", "secret": ["Reports/Summary", "Collaboration~Documents/secret"]}


def client(answer: Any, seen: list[httpx.Request]) -> FiberyClient:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer)

    return FiberyClient.create(
        FiberySettings(base_url="https://acme.fibery.io", requests_per_second=1000),
        HttpSettings(max_retries=0),
        SecretStr("tok-1"),
        httpx.MockTransport(handle),
    )


async def test_the_document_is_written_as_markdown_in_one_call() -> None:
    seen: list[httpx.Request] = []
    async with client(True, seen) as fibery:
        await fibery.write_document("sec-1", "# Team\n")
    [request] = seen
    assert request.method == "POST"
    assert request.url.path == "/api/documents/commands"
    assert request.url.params["format"] == "md"
    assert request.headers["authorization"] == "Token tok-1"
    assert json.loads(request.content) == {
        "command": "create-or-update-documents",
        "args": [{"secret": "sec-1", "content": "# Team\n"}],
    }


async def test_a_document_answer_other_than_true_is_refused() -> None:
    async with client({"message": "nope"}, []) as fibery:
        with pytest.raises(ResponseFormatError, match="did not answer true"):
            await fibery.write_document("sec-1", "x")


async def test_create_and_read_back_go_in_one_request() -> None:
    seen: list[httpx.Request] = []
    row = {"id": ID, "secret": "sec-9"}
    answer = [{"success": True, "result": {"fibery/id": ID}}, {"success": True, "result": [row]}]
    async with client(answer, seen) as fibery:
        got = await create_entity(
            fibery, "Reports/Weekly Report", {"fibery/id": ID, "Reports/Name": "T"}, SELECT
        )
    assert got == row
    [request] = seen
    create, query = json.loads(request.content)
    assert create == {
        "command": "fibery.entity/create",
        "args": {"type": "Reports/Weekly Report", "entity": {"fibery/id": ID, "Reports/Name": "T"}},
    }
    assert query["args"]["params"] == {"$id": ID}
    assert query["args"]["query"]["q/where"] == ["=", ["fibery/id"], "$id"]


async def test_a_refused_create_names_fiberys_error() -> None:
    refused = {
        "name": "entity.error/schema-field-not-found",
        "message": '"R/X" field was not found',
    }
    answer = [{"success": False, "result": refused}, {"success": True, "result": []}]
    async with client(answer, []) as fibery:
        with pytest.raises(BadRequestError, match='schema-field-not-found: "R/X" field'):
            await create_entity(fibery, "R/T", {"fibery/id": ID}, SELECT)


async def test_an_absent_id_is_none() -> None:
    async with client([{"success": True, "result": []}], []) as fibery:
        assert await find_by_id(fibery, "R/T", ID, SELECT) is None
