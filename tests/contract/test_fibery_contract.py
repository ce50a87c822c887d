"""``FiberyClient`` against Fibery answers as published (see ``fixtures/fibery/SOURCES.md``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from tests.contract._support import NoSleep, Replay, body, load, to_response
from volt_agent.config import EnrichmentType, FiberySettings, HttpSettings
from volt_agent.errors import AuthError, RetryableSourceError, VoltAgentError
from volt_agent.sources.fibery import FiberyClient
from volt_agent.sources.fibery_query import build_entity_query
from volt_agent.sources.fibery_schema import parse_schema

COMMANDS = "/api/commands"
DOCUMENTS = "/api/documents/commands"
PLAYER = "Cricket/Player"
STORY = "software-development/user-story"
KOHLI_BIO = "b33a25d1-99ba-11e9-8c59-09d0cb6f3aeb"
COMMENT_SECRET = "9f18d395-05da-44dc-9f21-602b2e744b14"
FIELD_NOT_FOUND = (
    '"Agreement Management/Time Entry Status" field was not found in'
    ' "Agreement Management/Labor Costs" database.'
)
CRICKET = EnrichmentType(
    name_field="Cricket/name",
    description_field="Cricket/Bio",
    fields={"full_name": "Cricket/Full Name"},
)
USER_QUERY = {
    "command": "fibery.entity/query",
    "args": {
        "query": {"q/from": "fibery/user", "q/select": ["fibery/id", "user/name"], "q/limit": 1}
    },
}
SCHEMA_COMMAND = {"command": "fibery.schema/query"}


@pytest.fixture
def replay() -> Replay:
    return Replay()


@pytest.fixture
async def client(replay: Replay) -> AsyncIterator[FiberyClient]:
    settings = FiberySettings(base_url="https://YOUR_ACCOUNT.fibery.io", requests_per_second=1000)
    async with replay.client() as http:
        yield FiberyClient(
            http, settings, HttpSettings(max_retries=1), SecretStr("tok-contract"), sleep=NoSleep()
        )


def command_names(replay: Replay) -> list[str]:
    return [command["command"] for batch in replay.bodies(COMMANDS) for command in batch]


# --- commands envelope ----------------------------------------------------------------------


async def test_run_commands_reads_the_getting_started_answer(
    client: FiberyClient, replay: Replay
) -> None:
    replay.serve(COMMANDS, to_response(load("fibery/commands_user_query.json")))

    [result] = await client.run_commands([USER_QUERY])

    assert result.success is True
    assert result.result == [
        {"fibery/id": "7dcf4730-82d2-11e9-8a28-82a9c787ee9d", "user/name": "Arthur Dent"}
    ]
    assert replay.bodies(COMMANDS) == [[USER_QUERY]]


async def test_run_commands_keeps_the_field_not_found_name_and_message(
    client: FiberyClient, replay: Replay
) -> None:
    replay.serve(COMMANDS, to_response(load("fibery/error_schema_field_not_found.json")))

    [result] = await client.run_commands([USER_QUERY])

    assert result.success is False
    assert result.error_name == "entity.error/schema-field-not-found"
    assert result.error_message == FIELD_NOT_FOUND


async def test_documented_401_plain_text_is_an_auth_error(
    client: FiberyClient, replay: Replay
) -> None:
    replay.serve(COMMANDS, to_response(load("fibery/transport_401.json")))

    with pytest.raises(AuthError) as caught:
        await client.run_commands([USER_QUERY])

    assert caught.value.status_code == 401
    assert "FIBERY_API_TOKEN" in str(caught.value)


# --- schema ---------------------------------------------------------------------------------


def test_parse_schema_reads_the_published_schema_answer() -> None:
    schema = parse_schema(body("fibery/schema_query.json")[0]["result"])

    story = schema.get(STORY)
    assert story is not None
    assert set(story.fields) == {"fibery/modification-date", "assignments/assignees"}
    assignees = story.fields["assignments/assignees"]
    assert (assignees.type, assignees.collection) == ("fibery/user", True)
    assert story.fields["fibery/modification-date"].collection is False
    assert story.mixins == {
        "fibery/rank-mixin",
        "assignments/assignments-mixin",
        "Files/Files-mixin",
        "workflow/workflow",
        "comments/comments-mixin",
    }
    assert story.primitive is False


async def test_schema_is_one_request_and_lists_the_published_type(
    client: FiberyClient, replay: Replay
) -> None:
    replay.serve(COMMANDS, to_response(load("fibery/schema_query.json")))

    schema = await client.schema()

    assert STORY in schema.types
    assert replay.bodies(COMMANDS) == [[SCHEMA_COMMAND]]


def test_entity_query_on_the_published_schema_selects_only_what_the_type_has() -> None:
    story = parse_schema(body("fibery/schema_query.json")[0]["result"]).get(STORY)
    assert story is not None

    query = build_entity_query(story, EnrichmentType(), max_comments=50)

    assert query["q/select"]["modified"] == "fibery/modification-date"
    assert query["q/select"]["assignees"]["q/from"] == "assignments/assignees"
    for absent in ("state", "comments", "comment_count", "name", "description_secret"):
        assert absent not in query["q/select"]
    assert query["q/limit"] != "q/no-limit"
    assert query["q/select"]["assignees"]["q/limit"] != "q/no-limit"


# --- command failures -----------------------------------------------------------------------


async def test_type_missing_from_the_published_schema_needs_no_entity_query(
    client: FiberyClient, replay: Replay
) -> None:
    replay.serve(COMMANDS, to_response(load("fibery/schema_query.json")))

    entities = await client.fetch_entities("Cricket/Nope", ["1", "2"], EnrichmentType())

    assert [(e.public_id, e.status) for e in entities] == [("1", "error"), ("2", "error")]
    assert all("Cricket/Nope" in (e.error or "") for e in entities)
    assert command_names(replay) == ["fibery.schema/query"]


async def test_type_not_found_envelope_makes_every_id_an_error_row(
    client: FiberyClient, replay: Replay
) -> None:
    """The type was in the schema but is gone when queried: the documented envelope."""
    replay.serve(
        COMMANDS,
        to_response(load("fibery/schema_query.json")),
        to_response(load("fibery/error_schema_type_not_found.json")),
    )

    entities = await client.fetch_entities(STORY, ["1", "2"], EnrichmentType())

    assert [(e.public_id, e.status) for e in entities] == [("1", "error"), ("2", "error")]
    assert all('"Cricket/Nope" database was not found.' in (e.error or "") for e in entities)
    assert command_names(replay) == ["fibery.schema/query", "fibery.entity/query"]
    assert replay.bodies(DOCUMENTS) == []


async def test_field_not_found_envelope_is_a_final_error_naming_the_field(
    client: FiberyClient, replay: Replay
) -> None:
    replay.serve(
        COMMANDS,
        to_response(load("fibery/schema_cricket_player.json")),
        to_response(load("fibery/error_schema_field_not_found.json")),
    )

    with pytest.raises(VoltAgentError) as caught:
        await client.fetch_entities(PLAYER, ["1"], CRICKET)

    assert not isinstance(caught.value, RetryableSourceError)
    message = str(caught.value)
    assert "\n" not in message
    assert FIELD_NOT_FOUND in message
    assert command_names(replay) == ["fibery.schema/query", "fibery.entity/query"]


# --- entities and documents -----------------------------------------------------------------


async def test_fetch_documents_reads_the_published_batch_answer(
    client: FiberyClient, replay: Replay
) -> None:
    replay.serve(DOCUMENTS, to_response(load("fibery/get_documents_batch.json")))
    secrets = [item["secret"] for item in body("fibery/get_documents_batch.json")]

    documents = await client.fetch_documents(secrets)

    assert documents == dict.fromkeys(secrets, "...")
    [request] = replay.requests
    assert request.url.params["format"] == "md"
    assert replay.bodies(DOCUMENTS) == [
        {"command": "get-documents", "args": [{"secret": s} for s in secrets]}
    ]


async def test_fetch_entities_reads_the_published_cricket_player(
    client: FiberyClient, replay: Replay
) -> None:
    replay.serve(
        COMMANDS,
        to_response(load("fibery/schema_cricket_player.json")),
        to_response(load("fibery/entity_query_cricket_player.json")),
    )
    replay.serve(DOCUMENTS, to_response(load("fibery/get_documents_md.json")))

    [player] = await client.fetch_entities(PLAYER, ["1"], CRICKET)

    assert player.status == "found"
    assert player.fibery_id == "20f9b920-9752-11e9-81b9-4363f716f666"
    assert player.name == "Virat Kohli"
    assert player.state is None
    assert player.created == datetime(2019, 6, 25, 14, 4, 20, 988000, tzinfo=UTC)
    assert player.modified == datetime(2019, 6, 27, 12, 17, 2, 842000, tzinfo=UTC)
    assert player.assignees == []
    assert player.description.startswith("Virat Kohli (born 5 November 1988) is an Indian")
    assert player.comment_count == 1
    [comment] = player.comments
    assert comment.created == datetime(2021, 5, 5, 17, 37, 21, 933000, tzinfo=UTC)
    assert comment.text.startswith("He is the [G.O.A.T.]")
    assert comment.author is None
    assert player.fields == {"full_name": 'Virat "Chikoo" Kohli'}
    assert command_names(replay) == ["fibery.schema/query", "fibery.entity/query"]
    [query_batch] = replay.bodies(COMMANDS)[1:]
    select = query_batch[0]["args"]["query"]["q/select"]
    assert "state" not in select
    assert select["description_secret"] == ["Cricket/Bio", "Collaboration~Documents/secret"]
    [documents_request] = replay.bodies(DOCUMENTS)
    assert {a["secret"] for a in documents_request["args"]} == {KOHLI_BIO, COMMENT_SECRET}
