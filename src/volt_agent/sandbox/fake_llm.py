"""A fake OpenAI-compatible chat server for tests and demos: real HTTP, scripted answers.

``FakeLlm`` serves ``POST /v1/chat/completions`` (and ``GET /v1/models``) with OpenAI's
request and answer shapes, ``usage`` included (about 4 characters per token). It checks the
bearer key (401 with OpenAI's error body otherwise), records every request it received,
answers from a queue of scripted answers or a responder function, and can inject HTTP
errors (429 with ``Retry-After``, 5xx) and slow answers (client timeouts). Serve it on
loopback with ``FakeLlm.serve()``; state is shared safely with the serving thread.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from volt_agent.sandbox.server import ServedApp

FAKE_LLM_KEY = "sk-fake-llm-key"
_SECTION = re.compile(r"^=== SECTION: (\w+) ===$", re.MULTILINE)


@dataclass(frozen=True)
class ChatRequest:
    """One request as the server saw it; ``outcome`` is ``answered`` or the injected fault."""

    model: str
    messages: tuple[tuple[str, str], ...]
    temperature: float | None
    max_tokens: int | None
    outcome: str = "answered"

    @property
    def system(self) -> str:
        return "\n".join(content for role, content in self.messages if role == "system")

    @property
    def user(self) -> str:
        return "\n".join(content for role, content in self.messages if role == "user")

    @property
    def sections(self) -> list[str]:
        """Section keys the prompt asks for (``=== SECTION: key ===`` lines)."""
        return _SECTION.findall(self.system)


Responder = Callable[[ChatRequest], str]


def generic_sections(request: ChatRequest) -> str:
    """A grounded answer to any prompt: every asked-for section, no ids, no hours."""
    keys = request.sections or ["summary"]
    return "\n".join(
        f"=== SECTION: {key} ===\nThe {key} of this period follows from the data above."
        for key in keys
    )


@dataclass
class Fault:
    kind: Literal["status", "delay"]
    status: int = 500
    retry_after: float | None = None
    code: str | None = None
    delay_seconds: float = 0.0


@dataclass
class _State:
    answers: deque[str] = field(default_factory=deque)
    faults: deque[Fault] = field(default_factory=deque)
    received: list[ChatRequest] = field(default_factory=list)
    rejected: int = 0


class FakeLlm:
    """The fake server's state and its FastAPI app."""

    def __init__(
        self,
        *,
        api_key: str = FAKE_LLM_KEY,
        responder: Responder = generic_sections,
        model: str = "fake-model",
    ) -> None:
        self.api_key = api_key
        self.responder = responder
        self.model = model
        self._lock = threading.Lock()
        self._state = _State()
        self._ids = itertools.count(1)
        self.app = self._create_app()

    # ------------------------------------------------------------ scripting

    def script(self, *answers: str) -> None:
        """Answer the next requests with these texts, in order, before using the responder."""
        with self._lock:
            self._state.answers.extend(answers)

    def fail_next(
        self,
        status: int = 429,
        *,
        times: int = 1,
        retry_after: float | None = None,
        code: str | None = None,
    ) -> None:
        """The next ``times`` authenticated requests get HTTP ``status`` with an OpenAI error."""
        with self._lock:
            for _ in range(times):
                self._state.faults.append(Fault("status", status, retry_after, code))

    def delay_next(self, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` requests are answered only after ``seconds`` (client timeouts)."""
        with self._lock:
            for _ in range(times):
                self._state.faults.append(Fault("delay", delay_seconds=seconds))

    def received(self) -> list[ChatRequest]:
        """Every authenticated request so far, faulted ones included, in arrival order."""
        with self._lock:
            return list(self._state.received)

    def answered(self) -> list[ChatRequest]:
        return [r for r in self.received() if r.outcome == "answered"]

    def rejected(self) -> int:
        """Requests refused with 401 for a missing or wrong key (not in ``received``)."""
        with self._lock:
            return self._state.rejected

    @contextmanager
    def serve(self, host: str = "127.0.0.1") -> Iterator[str]:
        """Serve on a free loopback port; yields the base URL to give the client (``…/v1``)."""
        with ServedApp(self.app, host=host) as server:
            yield f"{server.base_url}/v1"

    # ---------------------------------------------------------------- the app

    def _next(self) -> tuple[Fault | None, str | None]:
        with self._lock:
            fault = self._state.faults.popleft() if self._state.faults else None
            answer = None
            if (fault is None or fault.kind == "delay") and self._state.answers:
                answer = self._state.answers.popleft()
            return fault, answer

    def _record(self, request: ChatRequest) -> None:
        with self._lock:
            self._state.received.append(request)

    def _create_app(self) -> FastAPI:
        app = FastAPI(title="fake OpenAI-compatible LLM")

        @app.get("/v1/models")
        async def models(request: Request) -> JSONResponse:
            if not self._authorized(request):
                return _auth_error(request)
            return JSONResponse({"object": "list", "data": [{"id": self.model, "object": "model"}]})

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> JSONResponse:
            if not self._authorized(request):
                return _auth_error(request)
            body = await request.json()
            chat_request = _parse(body)
            if chat_request is None:
                return _error(400, "messages must be a list of {role, content}", "invalid_request")
            fault, answer = self._next()
            if fault is not None and fault.kind == "status":
                self._record(_with_outcome(chat_request, f"HTTP {fault.status}"))
                headers = {"retry-after": f"{fault.retry_after:g}"} if fault.retry_after else {}
                return _error(fault.status, f"injected HTTP {fault.status}", fault.code, headers)
            if fault is not None:
                await asyncio.sleep(fault.delay_seconds)
            text = answer if answer is not None else self.responder(chat_request)
            self._record(chat_request)
            return JSONResponse(self._completion(chat_request, text))

        return app

    def _authorized(self, request: Request) -> bool:
        ok = request.headers.get("authorization", "") == f"Bearer {self.api_key}"
        if not ok:
            with self._lock:
                self._state.rejected += 1
        return ok

    def _completion(self, request: ChatRequest, text: str) -> dict[str, Any]:
        prompt_chars = sum(len(content) for _, content in request.messages)
        prompt_tokens, completion_tokens = -(-prompt_chars // 4), -(-len(text) // 4)
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": 0,
            "model": request.model or self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def _parse(body: Any) -> ChatRequest | None:
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return None
    messages = []
    for message in body["messages"]:
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            return None
        messages.append((str(message.get("role", "")), message["content"]))
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    return ChatRequest(
        model=str(body.get("model", "")),
        messages=tuple(messages),
        temperature=body.get("temperature"),
        max_tokens=limit if isinstance(limit, int) else None,
    )


def _with_outcome(request: ChatRequest, outcome: str) -> ChatRequest:
    return ChatRequest(
        request.model, request.messages, request.temperature, request.max_tokens, outcome
    )


def _error(
    status: int, message: str, code: str | None, headers: dict[str, str] | None = None
) -> JSONResponse:
    kind = "rate_limit_error" if status == 429 else "server_error"
    if 400 <= status < 500 and status != 429:
        kind = "invalid_request_error"
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": code}},
        status_code=status,
        headers=headers,
    )


def _auth_error(request: Request) -> JSONResponse:
    """OpenAI's 401 echoes a masked key; so does this, to prove volt-agent never repeats it."""
    sent = request.headers.get("authorization", "").removeprefix("Bearer ")
    masked = f"{sent[:3]}***{sent[-2:]}" if len(sent) > 6 else "***"
    return _error(401, f"Incorrect API key provided: {masked}.", "invalid_api_key")
