"""Latency and fault injection for the simulators, as ASGI middleware.

A ``FaultPlan`` is a list of ``FaultRule``; each rule picks endpoints by name pattern
(``"toggl.search_time_entries"``, ``"fibery.*"``) and fires on a trigger: the first N
matching requests, every Nth, or with a seeded probability (no trigger = every request).
Kinds:

- ``status``: answer ``status`` at once (500/502/503; 429 with ``Retry-After``; 402 with
  the Toggl quota headers) without reaching the simulator;
- ``malformed_json``: let the simulator answer, then send status 200 with its body cut in half;
- ``drop``: let the simulator answer, send the headers and half the body, then abort. Over a
  real socket uvicorn closes the connection, so the client sees an incomplete message; through
  ``httpx.ASGITransport`` the client gets ``SimulatedDrop``, an ``httpx.RemoteProtocolError``,
  the same class it would see from a socket;
- ``slow``: wait ``delay_seconds`` before handling the request normally (timeouts).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Literal

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from volt_agent.sandbox.stats import EndpointTable, RequestStats

FaultKind = Literal["status", "malformed_json", "drop", "slow"]


@dataclass(frozen=True)
class FaultRule:
    """One kind of fault on the endpoints matching ``endpoint`` (an fnmatch pattern)."""

    kind: FaultKind
    endpoint: str = "*"
    status: int = 503
    retry_after: float | None = None
    """Seconds for ``Retry-After`` (429/503) or ``X-Toggl-Quota-Resets-In`` (402)."""
    delay_seconds: float = 1.0
    """Extra wait of a ``slow`` fault."""
    first_n: int | None = None
    every_n: int | None = None
    probability: float | None = None

    def __post_init__(self) -> None:
        triggers = [t for t in (self.first_n, self.every_n, self.probability) if t is not None]
        if len(triggers) > 1:
            raise ValueError("a fault rule takes at most one of first_n, every_n, probability")
        if self.first_n is not None and self.first_n < 0:
            raise ValueError("first_n must not be negative")
        if self.every_n is not None and self.every_n < 1:
            raise ValueError("every_n must be at least 1")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be in [0, 1]")
        if not 100 <= self.status <= 599:
            raise ValueError("status must be an HTTP status code")
        if self.delay_seconds < 0:
            raise ValueError("delay_seconds must not be negative")


@dataclass(frozen=True)
class FaultPlan:
    """Rules applied in order; ``seed`` drives ``probability`` triggers."""

    rules: tuple[FaultRule, ...] = ()
    seed: int = 0


class SimulatedDrop(httpx.RemoteProtocolError):
    """Raised by a ``drop`` fault after part of the answer was sent."""

    def __init__(self) -> None:
        super().__init__("sandbox fault: connection dropped before the answer was complete")


@dataclass
class _RuleState:
    rule: FaultRule
    rng: random.Random
    seen: int = 0

    def fires(self) -> bool:
        self.seen += 1
        rule = self.rule
        if rule.first_n is not None:
            return self.seen <= rule.first_n
        if rule.every_n is not None:
            return self.seen % rule.every_n == 0
        if rule.probability is not None:
            return self.rng.random() < rule.probability
        return True


@dataclass
class _Captured:
    status: int = 200
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)


class FaultMiddleware:
    """Adds latency (uniform in ``latency``, seeded) and the faults of ``plan``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        plan: FaultPlan,
        endpoints: EndpointTable,
        stats: RequestStats,
        latency: tuple[float, float] = (0.0, 0.0),
        seed: int = 0,
        json_errors: bool = False,
    ) -> None:
        low, high = latency
        if low < 0 or high < low:
            raise ValueError("latency_seconds must be (low, high) with 0 <= low <= high")
        self.app = app
        self.endpoints = endpoints
        self.stats = stats
        self.latency = latency
        self.json_errors = json_errors
        self._rng = random.Random(seed)
        self._rules = [
            _RuleState(rule, random.Random(plan.seed * 1_000_003 + index))
            for index, rule in enumerate(plan.rules)
        ]
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = self.endpoints.resolve(scope["method"], scope["path"])
        if name is None:
            await self.app(scope, receive, send)
            return
        delay, fault = self._decide(name)
        if delay > 0:
            receive = await _buffered(receive)
            await asyncio.sleep(delay)
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.kind == "status":
            await self._send_status(fault, send)
        elif fault.kind == "malformed_json":
            captured = await self._capture(scope, receive)
            body = bytes(captured.body)
            truncated = body[: len(body) // 2] if len(body) > 1 else b"{"
            headers = _replace_header(captured.headers, b"content-length", str(len(truncated)))
            headers = _replace_header(headers, b"content-type", "application/json")
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": truncated})
        else:
            captured = await self._capture(scope, receive)
            await send(
                {
                    "type": "http.response.start",
                    "status": captured.status,
                    "headers": _replace_header(
                        captured.headers, b"content-length", str(max(len(captured.body), 1))
                    ),
                }
            )
            partial = bytes(captured.body[: len(captured.body) // 2])
            await send({"type": "http.response.body", "body": partial, "more_body": True})
            raise SimulatedDrop

    def _decide(self, name: str) -> tuple[float, FaultRule | None]:
        """Advance the triggers of the rules matching ``name``; count what fires."""
        with self._lock:
            low, high = self.latency
            delay = self._rng.uniform(low, high) if high > 0 else 0.0
            fault: FaultRule | None = None
            for state in self._rules:
                if not fnmatchcase(name, state.rule.endpoint) or not state.fires():
                    continue
                self.stats.increment("faulted")
                self.stats.increment(f"faulted.{state.rule.kind}")
                if state.rule.kind == "slow":
                    delay += state.rule.delay_seconds
                elif fault is None:
                    fault = state.rule
            return delay, fault

    async def _send_status(self, rule: FaultRule, send: Send) -> None:
        headers: list[tuple[bytes, bytes]] = []
        wait = None if rule.retry_after is None else str(max(0, math.ceil(rule.retry_after)))
        if rule.status == 402:
            headers.append((b"x-toggl-quota-remaining", b"0"))
            headers.append((b"x-toggl-quota-resets-in", (wait or "3600").encode()))
        elif wait is not None or rule.status == 429:
            headers.append((b"retry-after", (wait or "1").encode()))
        message = f"sandbox fault: HTTP {rule.status}"
        if self.json_errors:
            body = json.dumps({"message": message}).encode()
            content_type = b"application/json"
        else:
            body = message.encode()
            content_type = b"text/plain; charset=utf-8"
        headers += [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": rule.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _capture(self, scope: Scope, receive: Receive) -> _Captured:
        captured = _Captured()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = message["status"]
                captured.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured.body.extend(message.get("body", b""))

        await self.app(scope, receive, capture)
        return captured


def _replace_header(
    headers: list[tuple[bytes, bytes]], name: bytes, value: str
) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in headers if k.lower() != name]
    return [*kept, (name, value.encode())]


async def _buffered(receive: Receive) -> Receive:
    """Read the whole request body now, so a client that gives up during a delay does not
    turn into an error when the simulator reads the body afterwards."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return _replaying(message, receive)
        body.extend(message.get("body", b""))
        if not message.get("more_body", False):
            return _replaying({"type": "http.request", "body": bytes(body)}, receive)


def _replaying(first: Message, receive: Receive) -> Receive:
    pending = [first]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay
