"""Published API answers (``fixtures/``) replayed to the real clients through ``MockTransport``.

A fixture file is one HTTP answer: ``status``, ``headers`` and either ``body`` (JSON) or
``text``. ``fixtures/*/SOURCES.md`` says where each one was published; none comes from the
simulators, and these tests never import ``volt_agent.sandbox``.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    """The fixture ``fixtures/{name}`` (e.g. ``"toggl/me_evrone.json"``)."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def body(name: str) -> Any:
    """The JSON body of a fixture."""
    return load(name)["body"]


def to_response(fixture: dict[str, Any], *, text_as_json: bool = False) -> httpx.Response:
    """The fixture as an ``httpx.Response``: status, headers and body as published.

    ``text_as_json`` sends a plain-text body as a JSON string instead (for answers whose
    schema is a string but which are served as ``application/json``).
    """
    headers = dict(fixture.get("headers") or {})
    if "text" in fixture:
        text: str = fixture["text"]
        if text_as_json:
            content = json.dumps(text).encode()
            headers.setdefault("content-type", "application/json")
        else:
            content = text.encode()
    else:
        content = json.dumps(fixture.get("body")).encode()
        headers.setdefault("content-type", "application/json")
    return httpx.Response(fixture["status"], headers=headers, content=content)


class Replay:
    """A ``MockTransport`` handler answering each path from its queue of fixture answers.

    ``serve(path, *answers)`` queues answers for that path (the last one repeats); a path
    with nothing queued answers 404 naming it, so an unexpected request fails the test.
    Every request is kept in ``requests``.
    """

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._answers: dict[str, deque[httpx.Response]] = defaultdict(deque)

    def serve(self, path: str, *answers: httpx.Response) -> Replay:
        self._answers[path].extend(answers)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self._answers.get(request.url.path)
        if not queue:
            return httpx.Response(404, text=f"contract test: nothing served at {request.url.path}")
        answer = queue.popleft() if len(queue) > 1 else queue[0]
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))

    def bodies(self, path: str) -> list[Any]:
        """The JSON bodies of the requests sent to ``path``, in order."""
        return [json.loads(r.content) for r in self.requests if r.url.path == path]


class NoSleep:
    """Records requested delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
