"""Merging calls that wait for the same rate-limit slot (``sources.coalesce``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from tests.unit.sources.fakes import TOKEN, FakeSleep, Recorder
from tests.unit.sources.test_fibery import TASK, FakeFibery, entity, schema_for, settings
from volt_agent.config import EnrichmentType, HttpSettings
from volt_agent.errors import BadRequestError, ResponseFormatError
from volt_agent.sources.coalesce import Coalescer
from volt_agent.sources.fibery import FiberyClient
from volt_agent.sources.http import LazyBody

BUG = "Scrum/Bug"
FEATURE = "Product/Feature"


class Slot:
    """A rate limiter whose next slot opens only when the test says so."""

    def __init__(self) -> None:
        self.open = asyncio.Event()

    async def __aenter__(self) -> None:
        await self.open.wait()

    async def __aexit__(self, *exc_info: object) -> None:
        return None


class FakeApi:
    """``send`` of a coalescer: waits for ``slot``, builds the body, answers by ``answer``."""

    def __init__(self, slot: Slot) -> None:
        self.slot = slot
        self.bodies: list[Any] = []
        self.fail: Exception | None = None

    async def send(self, body: LazyBody) -> Any:
        async with self.slot:
            value = body.value()
            self.bodies.append(value)
            if self.fail is not None:
                raise self.fail
            return [f"answer to {item}" for item in value]


def coalescer(api: FakeApi, capacity: int = 10) -> Coalescer[str, str]:
    return Coalescer(
        api.send,
        build=list,
        split=lambda items, answer: list(answer),
        capacity=capacity,
        weight=len,
    )


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_calls_waiting_for_one_slot_leave_in_one_request() -> None:
    api = FakeApi(Slot())
    merge = coalescer(api)
    calls = [asyncio.create_task(merge.submit(item)) for item in ("a", "bb", "c")]
    await settle()
    assert api.bodies == []  # all three wait for the limiter
    api.slot.open.set()
    assert await asyncio.gather(*calls) == ["answer to a", "answer to bb", "answer to c"]
    assert api.bodies == [["a", "bb", "c"]]
    assert (merge.requests, merge.calls) == (1, 3)


async def test_a_call_that_finds_the_limiter_free_leaves_alone_at_once() -> None:
    api = FakeApi(Slot())
    api.slot.open.set()
    merge = coalescer(api)
    assert await merge.submit("a") == "answer to a"
    assert await merge.submit("b") == "answer to b"
    assert api.bodies == [["a"], ["b"]]


async def test_a_request_carries_at_most_capacity_and_the_rest_follows() -> None:
    api = FakeApi(Slot())
    merge = coalescer(api, capacity=4)
    calls = [asyncio.create_task(merge.submit(item)) for item in ("aa", "bb", "c", "ddddd")]
    await settle()
    api.slot.open.set()
    results = await asyncio.gather(*calls)
    assert results == [f"answer to {item}" for item in ("aa", "bb", "c", "ddddd")]
    # weights 2+2 fill the first request; "c" cannot join "ddddd", heavier than capacity alone
    assert api.bodies == [["aa", "bb"], ["c"], ["ddddd"]]


async def test_a_failed_request_fails_every_call_it_carried() -> None:
    api = FakeApi(Slot())
    api.fail = ResponseFormatError("Fibery", "broken answer")
    merge = coalescer(api)
    calls = [asyncio.create_task(merge.submit(item)) for item in ("a", "b")]
    await settle()
    api.slot.open.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, ResponseFormatError) for r in results)
    api.fail = None
    assert await merge.submit("c") == "answer to c"  # the coalescer is usable afterwards


async def test_an_isolated_failure_reaches_only_its_own_caller() -> None:
    api = FakeApi(Slot())

    async def refuse_bad(body: LazyBody) -> Any:
        answer = await api.send(body)
        if "bad" in api.bodies[-1]:
            raise BadRequestError("Fibery", "refused (HTTP 400)", status_code=400)
        return answer

    merge: Coalescer[str, str] = Coalescer(
        refuse_bad,
        build=list,
        split=lambda items, answer: list(answer),
        capacity=10,
        isolate=lambda error: isinstance(error, BadRequestError),
    )
    calls = [asyncio.create_task(merge.submit(item)) for item in ("a", "bad", "c")]
    await settle()
    api.slot.open.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert results[0] == "answer to a"
    assert isinstance(results[1], BadRequestError)
    assert results[2] == "answer to c"
    assert api.bodies[0] == ["a", "bad", "c"]
    assert sorted(map(tuple, api.bodies[1:])) == [("a",), ("bad",), ("c",)]
    assert merge.requests == 4


async def test_errors_not_meant_for_isolation_fail_every_call() -> None:
    api = FakeApi(Slot())
    api.fail = ResponseFormatError("Fibery", "broken answer")
    merge: Coalescer[str, str] = Coalescer(
        api.send,
        build=list,
        split=lambda items, answer: list(answer),
        capacity=10,
        isolate=lambda error: isinstance(error, BadRequestError),
    )
    calls = [asyncio.create_task(merge.submit(item)) for item in ("a", "b")]
    await settle()
    api.slot.open.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, ResponseFormatError) for r in results)
    assert api.bodies == [["a", "b"]]


def test_capacity_can_be_lowered_but_not_below_one() -> None:
    merge = coalescer(FakeApi(Slot()), capacity=10)
    merge.capacity = 3
    assert merge.capacity == 3
    with pytest.raises(ValueError, match="at least 1"):
        merge.capacity = 0


async def test_a_split_that_does_not_match_the_calls_is_an_error_for_each() -> None:
    api = FakeApi(Slot())
    api.slot.open.set()
    merge: Coalescer[str, str] = Coalescer(
        api.send, build=list, split=lambda items, answer: [], capacity=10
    )
    with pytest.raises(RuntimeError, match="0 results for 1 calls"):
        await merge.submit("a")


@pytest.fixture
def fake() -> FakeFibery:
    fibery = FakeFibery()
    for type_key, first in ((BUG, 100), (FEATURE, 200)):
        fibery.entities[type_key] = {
            str(i): entity(str(i), comments=2) for i in range(first, first + 3)
        }
        fibery.documents |= {f"d-{i}": f"about {i}" for i in range(first, first + 3)}
        fibery.documents |= {
            f"c-{i}-{c}": f"note {c}" for i in range(first, first + 3) for c in (0, 1)
        }
    return fibery


@pytest.fixture
async def gated(
    fake: FakeFibery, fake_sleep: FakeSleep
) -> AsyncIterator[tuple[FiberyClient, Recorder, Slot]]:
    recorder, slot = Recorder(fake), Slot()
    async with recorder.client() as http_client:
        client = FiberyClient(
            http_client,
            settings(batch_size=10, document_batch_size=100, max_comments=5),
            HttpSettings(),
            SecretStr(TOKEN),
            sleep=fake_sleep,
            limiter=slot,
        )
        yield client, recorder, slot


async def test_concurrent_types_share_requests_and_get_their_own_entities(
    gated: tuple[FiberyClient, Recorder, Slot],
) -> None:
    client, recorder, slot = gated
    wanted = {TASK: ["1", "2", "99"], BUG: ["100", "101"], FEATURE: ["202"]}
    fetches = {
        key: asyncio.create_task(
            client.fetch_entities(key, ids, EnrichmentType(), schema_for(*wanted))
        )
        for key, ids in wanted.items()
    }
    await settle()
    slot.open.set()
    got = {key: await task for key, task in fetches.items()}

    paths = [request.url.path for request in recorder.requests]
    assert paths == ["/api/commands", "/api/documents/commands"]  # 3 types, 2 requests
    assert [c["args"]["query"]["q/from"] for c in recorder.bodies()[0]] == [TASK, BUG, FEATURE]
    for key, ids in wanted.items():
        assert [e.public_id for e in got[key]] == ids
        assert all(e.type_key == key for e in got[key])
    statuses = {(e.type_key, e.public_id): e.status for es in got.values() for e in es}
    assert statuses.pop((TASK, "99")) == "not_found"
    assert set(statuses.values()) == {"found"}
    bug = got[BUG][0]
    assert bug.description == "about 100"
    assert sorted(c.text for c in bug.comments) == ["note 0", "note 1"]


async def test_a_command_refused_in_a_merged_request_does_not_fail_the_others(
    gated: tuple[FiberyClient, Recorder, Slot], fake: FakeFibery
) -> None:
    client, recorder, slot = gated
    fake.batch_4xx = True
    wanted = {TASK: ["1", "2"], BUG: ["100"], "Scrum/Gone": ["7"]}
    schema = schema_for(*wanted)  # read before Scrum/Gone was deleted
    fetches = {
        key: asyncio.create_task(client.fetch_entities(key, ids, EnrichmentType(), schema))
        for key, ids in wanted.items()
    }
    await settle()
    slot.open.set()
    got = {key: await task for key, task in fetches.items()}

    commands = [
        b
        for r, b in zip(recorder.requests, recorder.bodies(), strict=True)
        if r.url.path == "/api/commands"
    ]
    assert [len(c) for c in commands] == [3, 1, 1, 1]  # refused together, then one by one
    assert {e.status for e in got[TASK]} == {"found"}
    assert [e.status for e in got[BUG]] == ["found"]
    [gone] = got["Scrum/Gone"]
    assert gone.status == "error"
    assert gone.error is not None
    assert "Scrum/Gone" in gone.error
