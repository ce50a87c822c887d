"""Fakes for the client tests: an instant sleep and a request-recording transport."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

TOKEN = "tok-SECRET-1234567890"

Handler = Callable[[httpx.Request], httpx.Response]


class FakeSleep:
    """Records the requested delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class Recorder:
    """A ``MockTransport`` handler that records requests and answers via ``handler``.

    ``script`` (a list of responses or exceptions) is consumed first, then ``handler``.
    """

    def __init__(self, handler: Handler | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.script: list[httpx.Response | Exception] = []
        self._handler = handler

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            return step
        if self._handler is None:
            return httpx.Response(200, json={"ok": True})
        return self._handler(request)

    def bodies(self) -> list[Any]:
        return [json.loads(request.content) for request in self.requests]

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))
