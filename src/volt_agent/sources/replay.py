"""A ``--record`` folder served back: ``replay_transport(DIR, source)`` is an
``httpx.MockTransport`` answering each request with the next recorded answer for the same
method and URL (path + query), in recorded order, so a user's recording becomes a test."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from volt_agent.sources.recording import RECORD_FILE, path_and_query


@dataclass(frozen=True)
class Exchange:
    """One recorded request and its answer."""

    source: str
    sequence: int
    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: Any
    is_json: bool

    def response(self, request: httpx.Request) -> httpx.Response:
        if self.is_json:
            return httpx.Response(
                self.status, headers=self.headers, json=self.body, request=request
            )
        return httpx.Response(
            self.status, headers=self.headers, text=self.body or "", request=request
        )


def load_exchanges(directory: Path, source: str) -> list[Exchange]:
    """The exchanges of ``source`` recorded in ``directory``, in the order they happened."""
    exchanges = []
    for path in directory.glob(f"{source}-*.json"):
        match = RECORD_FILE.match(path.name)
        if match is None or match["source"] != source:
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        answer = data["response"]
        exchanges.append(
            Exchange(
                source=source,
                sequence=int(data["sequence"]),
                method=data["request"]["method"],
                url=data["request"]["url"],
                status=int(answer["status"]),
                headers=dict(answer.get("headers", {})),
                body=answer.get("json", answer.get("text")),
                is_json="json" in answer,
            )
        )
    return sorted(exchanges, key=lambda exchange: exchange.sequence)


class ReplayMismatch(LookupError):  # noqa: N818  # reads as "a replay mismatch" in test output
    """A request the recording holds no (further) answer for."""


def replay_transport(directory: Path, source: str) -> httpx.MockTransport:
    """A transport answering each request with the next recorded answer for its method and
    URL (path + query), in recorded order; ``ReplayMismatch`` for anything else."""
    queues: dict[tuple[str, str], deque[Exchange]] = {}
    for exchange in load_exchanges(directory, source):
        queues.setdefault((exchange.method, exchange.url), deque()).append(exchange)

    def handler(request: httpx.Request) -> httpx.Response:
        key = (request.method, path_and_query(request.url))
        queue = queues.get(key)
        if not queue:
            raise ReplayMismatch(f"no recorded {source} answer left for {key[0]} {key[1]}")
        return queue.popleft().response(request)

    return httpx.MockTransport(handler)
