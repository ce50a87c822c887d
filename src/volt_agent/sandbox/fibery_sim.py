"""Fibery simulator: commands API and collaboration documents, per docs/API_NOTES.md.

Auth is ``Authorization: Token {token}`` (``token`` or one of ``extra_tokens``); failures
answer 401 ``{"message": ...}``. Rate limits (https://developers.fibery.com/guides/
getting-started/authentication): ``requests_per_second`` per token and
``workspace_requests_per_second`` for every token together (Fibery: 3 and 7), each a leaky
bucket answering 429, with ``Retry-After`` only when ``retry_after_header`` (Fibery does not
document one). ``fibery.schema/query`` answers the sandbox schema (``sandbox._fibery_schema``)
and entity queries are checked against it (``sandbox.fibery_query``). Bodies that are not a
list of ``{"command": ...}`` (or not a ``get-documents`` command) answer 400 JSON. A command
that fails answers, by ``command_failure_mode`` (the real HTTP status is undocumented):
``"per_command"`` — ``{"success": false, "result": {"name", "message"}}`` inside a 200 list,
the other commands still run; ``"batch_4xx"`` — 400 for the whole request with the first
failure's ``{"name", "message"}``. Documents are markdown (``format=md``, also the default
when ``format`` is absent); a ``get-documents`` call with more than
``max_secrets_per_documents_call`` secrets answers 400; unknown secrets are left out of a
``get-documents`` answer and are 404 on ``GET /api/documents/{secret}``.
``fibery.entity/create`` and ``create-or-update-documents`` write (``sandbox.fibery_write``);
``fibery_writes(app)`` lists what was written.
``extra_comments`` gives chosen entities thousands of comments (``sandbox._bad_data``).
"""

from __future__ import annotations

import hmac
import json
import math
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from volt_agent.sandbox._bad_data import with_extra_comments
from volt_agent.sandbox._common import Rejection, SimulatorOptions, assemble
from volt_agent.sandbox._fibery_schema import schema_answer
from volt_agent.sandbox._limits import LeakyBucket
from volt_agent.sandbox.fibery_query import QueryError, run_entity_query, schema_index
from volt_agent.sandbox.fibery_write import EntityCreator, FiberyWrites, read_only_fields
from volt_agent.sandbox.stats import EndpointTable, RequestStats
from volt_agent.sandbox.workspace import Workspace

COMMANDS = "fibery.commands"
DOCUMENTS_COMMANDS = "fibery.documents_commands"
DOCUMENT_GET = "fibery.document_get"
ENTITY_QUERY = "fibery.entity_query"
SCHEMA_QUERY = "fibery.schema_query"
ENTITY_CREATE = "fibery.entity_create"
DOCUMENTS_WRITTEN = "fibery.documents_written"
DOCUMENTS_SERVED = "fibery.documents_served"
WORKSPACE_RATE_LIMITED = "rate_limited.workspace"
OTHER = "fibery.other"

FIBERY_ENDPOINTS = EndpointTable(
    (
        ("POST", r"/api/commands", COMMANDS),
        ("POST", r"/api/documents/commands", DOCUMENTS_COMMANDS),
        ("GET", r"/api/documents/[^/]+", DOCUMENT_GET),
    ),
    fallback=OTHER,
)


CommandFailureMode = Literal["per_command", "batch_4xx"]


@dataclass(frozen=True)
class FiberySimulatorOptions(SimulatorOptions):
    """Fibery knobs on top of the common ones (``requests_per_second`` is per token).

    ``extra_comments``: ``(type, public id, n)`` — that entity gets ``n`` more comments.
    ``extra_tokens``: more valid tokens (each with its own per-token bucket).
    ``workspace_requests_per_second``: one bucket shared by every token, holding
    ``workspace_burst`` requests (default: one second's worth); ``None`` = no cap.
    ``max_secrets_per_documents_call``: no maximum is published; public code sends 50 per
    call, so the cap must admit 50 — 100 leaves the client's default (50) room while a
    larger configured batch meets it; ``None`` = no cap.
    """

    token: str = "fibery-sandbox-token"  # noqa: S105  # a public sandbox token
    extra_comments: tuple[tuple[str, str, int], ...] = ()
    extra_tokens: tuple[str, ...] = ()
    workspace_requests_per_second: float | None = None
    workspace_burst: int | None = None
    retry_after_header: bool = True
    command_failure_mode: CommandFailureMode = "per_command"
    max_secrets_per_documents_call: int | None = 100

    def __post_init__(self) -> None:
        super().__post_init__()
        rate = self.workspace_requests_per_second
        if rate is not None and rate <= 0:
            raise ValueError("workspace_requests_per_second must be positive (or None)")
        if self.workspace_burst is not None and self.workspace_burst < 1:
            raise ValueError("workspace_burst must be at least 1")
        if self.command_failure_mode not in ("per_command", "batch_4xx"):
            raise ValueError('command_failure_mode is "per_command" or "batch_4xx"')
        cap = self.max_secrets_per_documents_call
        if cap is not None and cap < 1:
            raise ValueError("max_secrets_per_documents_call must be at least 1 (or None)")

    def workspace_bucket(self) -> LeakyBucket | None:
        rate = self.workspace_requests_per_second
        if rate is None:
            return None
        burst = self.workspace_burst or max(1, math.ceil(rate))
        return LeakyBucket(rate, burst, self.clock)


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
        self.documents = dict(self.documents)
        """The simulator's own copy: writes never reach the (cached) workspace."""
        tokens = (options.token, *options.extra_tokens)
        self.buckets = {token: options.bucket() for token in tokens}
        self.workspace_bucket = options.workspace_bucket()
        self.collections: dict[str, list[dict[str, Any]]] = {
            **entities,
            "fibery/user": workspace.fibery_users,
        }
        self.schema = schema_answer()
        self.index = schema_index(self.schema["fibery/types"])
        self.writes = FiberyWrites()
        self.creator = EntityCreator(
            self.index,
            read_only_fields(self.schema["fibery/types"]),
            self.collections,
            self.documents,
            self.writes,
        )

    def admit(self, request: Request) -> None:
        """Auth, then the token's bucket, then the workspace's (a refused request is counted
        by the buckets it passed)."""
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        token = next(
            (
                known
                for known in self.buckets
                if scheme == "Token" and hmac.compare_digest(given.strip().encode(), known.encode())
            ),
            None,
        )
        if token is None:
            raise Rejection(_message(401, "Unauthorized: missing or invalid API token"))
        bucket = self.buckets[token]
        if bucket is not None and (wait := bucket.try_acquire()) is not None:
            self.refuse(wait)
        if self.workspace_bucket is not None:
            wait = self.workspace_bucket.try_acquire()
            if wait is not None:
                self.stats.increment(WORKSPACE_RATE_LIMITED)
                self.refuse(wait)

    def refuse(self, wait: float) -> None:
        self.stats.increment("rate_limited")
        headers = (
            {"Retry-After": str(max(1, math.ceil(wait)))} if self.options.retry_after_header else {}
        )
        raise Rejection(_message(429, "Too many requests", headers))

    def run_command(self, command: dict[str, Any]) -> dict[str, Any]:
        name = command["command"]
        if name == "fibery.schema/query":
            self.stats.increment(SCHEMA_QUERY)
            return {"success": True, "result": self.schema}
        if name == "fibery.entity/query":
            self.stats.increment(ENTITY_QUERY)
            try:
                result = run_entity_query(self.index, self.collections, command.get("args"))
            except QueryError as error:
                return {"success": False, "result": error.result()}
            return {"success": True, "result": result}
        if name == "fibery.entity/create":
            self.stats.increment(ENTITY_CREATE)
            try:
                created = self.creator.create(command.get("args"))
            except QueryError as error:
                return {"success": False, "result": error.result()}
            return {"success": True, "result": created}
        return _failure("command.error/unknown-command", f"Unknown command {name!r}")

    def answer(self, commands: list[dict[str, Any]]) -> JSONResponse:
        results = [self.run_command(command) for command in commands]
        failed = next((r["result"] for r in results if not r["success"]), None)
        if failed is not None and self.options.command_failure_mode == "batch_4xx":
            return JSONResponse(failed, status_code=400)
        return JSONResponse(results)


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise Rejection(_message(400, "request body is not valid JSON")) from None


def _require_markdown(request: Request) -> None:
    """``md`` is Fibery's default format; the sandbox serves no other."""
    if request.query_params.get("format", "md") != "md":
        raise Rejection(_message(400, "the sandbox serves documents with format=md only"))


def create_fibery_app(
    workspace: Workspace, options: FiberySimulatorOptions | None = None
) -> FastAPI:
    """An ASGI app serving ``workspace`` like Fibery; counters in ``app.state.stats``."""
    options = options or FiberySimulatorOptions()
    stats = RequestStats(
        (
            *FIBERY_ENDPOINTS.names,
            ENTITY_QUERY,
            SCHEMA_QUERY,
            ENTITY_CREATE,
            DOCUMENTS_SERVED,
            DOCUMENTS_WRITTEN,
            WORKSPACE_RATE_LIMITED,
        )
    )
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
        return sim.answer(body)

    @app.post("/api/documents/commands")
    async def documents_commands(request: Request) -> Response:
        sim.admit(request)
        _require_markdown(request)
        body = await _json_body(request)
        if isinstance(body, dict) and body.get("command") == "create-or-update-documents":
            refused = sim.creator.write_documents(body.get("args"))
            if refused is not None:
                return _message(400, refused)
            stats.increment(DOCUMENTS_WRITTEN, len(body["args"]))
            return JSONResponse(True)
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
        cap = options.max_secrets_per_documents_call
        if cap is not None and len(body["args"]) > cap:
            return _message(
                400, f"get-documents takes at most {cap} secrets per call, got {len(body['args'])}"
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
    app.state.fibery_writes = sim.writes
    return app


def fibery_writes(app: FastAPI) -> FiberyWrites:
    """What clients created and wrote on a simulator from ``create_fibery_app``."""
    writes: FiberyWrites = app.state.fibery_writes
    return writes
