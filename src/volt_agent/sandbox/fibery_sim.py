"""Fibery simulator: commands API and collaboration documents, per docs/API_NOTES.md.

Auth is ``Authorization: Token {token}``; failures answer 401 ``{"message": ...}``. When
``requests_per_second`` is set, a leaky bucket answers 429 with ``Retry-After``. Bodies that
are not a list of ``{"command": ...}`` (or not a ``get-documents`` command) answer 400 JSON;
a command that fails on its own answers ``{"success": false, "result": {"name", "message"}}``
inside a 200 list. Documents are served as markdown only (``?format=md``); unknown secrets
are left out of a ``get-documents`` answer and are 404 on ``GET /api/documents/{secret}``.
``extra_comments`` gives chosen entities thousands of comments (``sandbox._bad_data``).
"""

from __future__ import annotations

import hmac
import json
import math
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from volt_agent.sandbox._bad_data import with_extra_comments
from volt_agent.sandbox._common import Rejection, SimulatorOptions, assemble
from volt_agent.sandbox._fibery_data import schema_types
from volt_agent.sandbox.fibery_query import QueryError, run_entity_query
from volt_agent.sandbox.stats import EndpointTable, RequestStats
from volt_agent.sandbox.workspace import Workspace

COMMANDS = "fibery.commands"
DOCUMENTS_COMMANDS = "fibery.documents_commands"
DOCUMENT_GET = "fibery.document_get"
ENTITY_QUERY = "fibery.entity_query"
SCHEMA_QUERY = "fibery.schema_query"
DOCUMENTS_SERVED = "fibery.documents_served"
OTHER = "fibery.other"

FIBERY_ENDPOINTS = EndpointTable(
    (
        ("POST", r"/api/commands", COMMANDS),
        ("POST", r"/api/documents/commands", DOCUMENTS_COMMANDS),
        ("GET", r"/api/documents/[^/]+", DOCUMENT_GET),
    ),
    fallback=OTHER,
)


@dataclass(frozen=True)
class FiberySimulatorOptions(SimulatorOptions):
    """``extra_comments``: ``(type, public id, n)`` — that entity gets ``n`` more comments."""

    token: str = "fibery-sandbox-token"  # noqa: S105  # a public sandbox token
    extra_comments: tuple[tuple[str, str, int], ...] = ()


def _message(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def _failure(name: str, message: str) -> dict[str, Any]:
    return {"success": False, "result": {"name": name, "message": message}}


class _Fibery:
    def __init__(self, workspace: Workspace, options: FiberySimulatorOptions, stats: RequestStats):
        self.options = options
        self.stats = stats
        entities, self.documents = workspace.fibery_entities, workspace.documents
        if options.extra_comments:
            entities, self.documents = with_extra_comments(
                entities,
                workspace.documents,
                workspace.fibery_users,
                options.extra_comments,
                options.seed,
            )
        self.bucket = options.bucket()
        self.collections: dict[str, list[dict[str, Any]]] = {
            **entities,
            "fibery/user": workspace.fibery_users,
        }
        self.schema = {"fibery/types": schema_types()}

    def admit(self, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        valid = scheme == "Token" and hmac.compare_digest(
            token.strip().encode(), self.options.token.encode()
        )
        if not valid:
            raise Rejection(_message(401, "Unauthorized: missing or invalid API token"))
        if self.bucket is not None and (wait := self.bucket.try_acquire()) is not None:
            self.stats.increment("rate_limited")
            retry_after = {"Retry-After": str(max(1, math.ceil(wait)))}
            raise Rejection(_message(429, "Too many requests", retry_after))

    def run_command(self, command: dict[str, Any]) -> dict[str, Any]:
        name = command["command"]
        if name == "fibery.schema/query":
            self.stats.increment(SCHEMA_QUERY)
            return {"success": True, "result": self.schema}
        if name == "fibery.entity/query":
            self.stats.increment(ENTITY_QUERY)
            try:
                return {
                    "success": True,
                    "result": run_entity_query(self.collections, command.get("args")),
                }
            except QueryError as error:
                return {"success": False, "result": error.result()}
        return _failure("command.error/unknown-command", f"Unknown command {name!r}")


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise Rejection(_message(400, "request body is not valid JSON")) from None


def _require_markdown(request: Request) -> None:
    if request.query_params.get("format") != "md":
        raise Rejection(_message(400, "the sandbox serves documents with format=md only"))


def create_fibery_app(
    workspace: Workspace, options: FiberySimulatorOptions | None = None
) -> FastAPI:
    """An ASGI app serving ``workspace`` like Fibery; counters in ``app.state.stats``."""
    options = options or FiberySimulatorOptions()
    stats = RequestStats((*FIBERY_ENDPOINTS.names, ENTITY_QUERY, SCHEMA_QUERY, DOCUMENTS_SERVED))
    sim = _Fibery(workspace, options, stats)
    app = FastAPI(title="Fibery simulator", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/api/commands")
    async def commands(request: Request) -> Response:
        sim.admit(request)
        body = await _json_body(request)
        if not isinstance(body, list) or not all(
            isinstance(c, dict) and isinstance(c.get("command"), str) for c in body
        ):
            return _message(400, 'body must be a list of {"command": ..., "args": ...} objects')
        return JSONResponse([sim.run_command(command) for command in body])

    @app.post("/api/documents/commands")
    async def documents_commands(request: Request) -> Response:
        sim.admit(request)
        _require_markdown(request)
        body = await _json_body(request)
        valid = (
            isinstance(body, dict)
            and body.get("command") == "get-documents"
            and isinstance(body.get("args"), list)
            and all(isinstance(a, dict) and isinstance(a.get("secret"), str) for a in body["args"])
        )
        if not valid:
            return _message(
                400, 'body must be {"command": "get-documents", "args": [{"secret": ...}, ...]}'
            )
        found = [
            {"secret": arg["secret"], "content": sim.documents[arg["secret"]]}
            for arg in body["args"]
            if arg["secret"] in sim.documents
        ]
        stats.increment(DOCUMENTS_SERVED, len(found))
        return JSONResponse(found)

    @app.get("/api/documents/{secret}")
    async def document_get(secret: str, request: Request) -> Response:
        sim.admit(request)
        _require_markdown(request)
        content = sim.documents.get(secret)
        if content is None:
            return _message(404, f"Document {secret} not found")
        stats.increment(DOCUMENTS_SERVED)
        return JSONResponse({"secret": secret, "content": content})

    assemble(app, stats=stats, endpoints=FIBERY_ENDPOINTS, options=options, json_errors=True)
    return app
