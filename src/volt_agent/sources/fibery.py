"""Fibery client: schema first, then batched entity queries and batched documents.

``schema()`` reads the workspace schema in one request; every entity query is built from
it, selecting only what the type has: the name field as the type spells it (``Space/Name``
or the older ``Space/name``), the state only with the workflow mixin, assignees only with
assignments, comments only with comments, the description only when a rich-text description
field exists. Collection sub-queries carry a number, never the deprecated ``q/no-limit``:
assignees up to ``ASSIGNEES_LIMIT``, comments the newest ``max_comments`` (ordered by
creation date, newest first) plus their total count (``q/count``).

For one type and a list of public ids, ``fetch_entities`` sends one ``fibery.entity/query``
per ``batch_size`` ids and one ``get-documents`` call per ``document_batch_size`` rich-text
documents (descriptions and kept comments) of that chunk — never one request per entity.
Calls made at the same time (enrichment activities of several types in one worker) that
wait for the same rate-limit slot leave in one request: up to ``MAX_COMMANDS_PER_REQUEST``
entity queries per ``/api/commands`` request, up to ``document_batch_size`` documents per
``get-documents`` request (``sources.coalesce``). If Fibery refuses such a merged request
with a 4xx (the HTTP status of a failing command is undocumented), each command is sent
again alone, so one failing command never takes the others down. Fibery publishes no
maximum of secrets per ``get-documents`` call (public code sends 50): a call refused with 400
lowers the batch to the next of ``DOCUMENT_BATCH_STEPS`` below the number it carried (below
50: halves), kept for every later call of the client — a refusal costs a request once per
worker process, not once per run.

An id Fibery does not return is ``not_found``; a type the workspace lacks makes its ids
``error``: both are data, the run goes on. A field the type lacks
(``entity.error/schema-field-not-found``) is a ``ConfigError``: the configuration is wrong.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, NamedTuple

import httpx
from pydantic import SecretStr

from volt_agent.config import EnrichmentType, FiberySettings, HttpSettings
from volt_agent.domain.models import EnrichedEntity
from volt_agent.errors import BadRequestError, ConfigError, ResponseFormatError
from volt_agent.sources.coalesce import Coalescer
from volt_agent.sources.fibery_query import (
    build_entity_query,
    entity_query_command,
    space_of,
)
from volt_agent.sources.fibery_rows import entity_of, rows_of
from volt_agent.sources.fibery_schema import CONFIG_FILE, FiberySchema, FiberyType, parse_schema
from volt_agent.sources.http import (
    ApiProfile,
    ApiRequester,
    BaseApiClient,
    FiberyAuth,
    LazyBody,
    SleepFn,
    new_async_client,
)
from volt_agent.sources.parsing import one_line

logger = logging.getLogger(__name__)

FIBERY = "Fibery"
TYPE_NOT_FOUND = "schema-type-not-found"
FIELD_NOT_FOUND = "schema-field-not-found"
DOCUMENT_BATCH_STEPS = (500, 200, 100, 50)
"""Secrets per ``get-documents`` call tried in turn after a refusal (below 50: halves)."""
MAX_COMMANDS_PER_REQUEST = 10
"""Entity queries merged into one ``/api/commands`` request at most (each up to
``batch_size`` entities), which keeps a merged answer to a few megabytes."""


class CommandResult(NamedTuple):
    """One item of a commands answer; for a failure ``result`` holds ``name``/``message``."""

    success: bool
    result: Any

    @property
    def error_name(self) -> str:
        name = self.result.get("name") if isinstance(self.result, dict) else None
        return name if isinstance(name, str) else "unknown-error"

    @property
    def error_message(self) -> str:
        message = self.result.get("message") if isinstance(self.result, dict) else None
        return one_line(message if isinstance(message, str) else str(self.result))


class FiberyClient(BaseApiClient):
    """Async Fibery client; one per process (its limiter is per instance)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: FiberySettings,
        http: HttpSettings,
        token: SecretStr,
        *,
        sleep: SleepFn = asyncio.sleep,
        limiter: AbstractAsyncContextManager[None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._base_url = _base_url(settings)
        profile = ApiProfile(
            source=FIBERY,
            credentials_env="FIBERY_API_TOKEN",
            requests_per_second=settings.requests_per_second,
        )
        requester = ApiRequester(
            client,
            profile,
            http,
            FiberyAuth(token),
            secret=token,
            sleep=sleep,
            limiter=limiter,
            rng=rng,
        )
        super().__init__(requester, client)
        self._settings = settings
        self._queries: Coalescer[dict[str, Any], CommandResult] = Coalescer(
            self._post_commands,
            build=list,
            split=_command_results,
            capacity=MAX_COMMANDS_PER_REQUEST,
            isolate=_refused_request,
        )
        self._document_batch = settings.document_batch_size
        self._documents: Coalescer[list[str], dict[str, str]] = Coalescer(
            self._post_documents,
            build=_documents_body,
            split=_documents_split,
            capacity=self._document_batch,
            weight=len,
            isolate=_refused_documents,
        )
        self._schema: FiberySchema | None = None
        self._schema_lock = asyncio.Lock()

    @classmethod
    def create(
        cls,
        settings: FiberySettings,
        http: HttpSettings,
        token: SecretStr,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        sleep: SleepFn = asyncio.sleep,
    ) -> FiberyClient:
        """A client owning its ``httpx.AsyncClient`` (closed by ``aclose()``)."""
        _base_url(settings)
        instance = cls(new_async_client(http, transport), settings, http, token, sleep=sleep)
        instance._owns_client = True
        return instance

    async def run_commands(self, commands: list[dict[str, Any]]) -> list[CommandResult]:
        """``POST /api/commands`` (one request); one result per command, in order."""
        return _command_results(commands, await self._post_commands(commands))

    async def _post_commands(self, body: list[dict[str, Any]] | LazyBody) -> Any:
        response = await self._requester.request_json(
            "POST", f"{self._base_url}/api/commands", endpoint="commands", json_body=body
        )
        return response.data

    async def _post_documents(self, body: LazyBody) -> Any:
        """One ``get-documents`` call; a 400 for several secrets lowers the batch below the
        number sent, also when the call merged several callers' chunks (each caller then
        asks again at the lowered batch, ``fetch_documents``)."""
        try:
            response = await self._requester.request_json(
                "POST",
                f"{self._base_url}/api/documents/commands",
                endpoint="documents",
                params={"format": "md"},
                json_body=body,
            )
        except BadRequestError as error:
            sent = body.value() if body.built else None
            args = sent.get("args") if isinstance(sent, dict) else None
            if error.status_code == 400 and isinstance(args, list) and len(args) > 1:
                self._lower_document_batch(smaller_document_batch(len(args)), error)
            raise
        return response.data

    async def write_document(self, secret: str, markdown: str) -> None:
        """Replace a rich-text document's content: one ``create-or-update-documents`` call
        (``sources.fibery_write``); Fibery answers ``true``."""
        response = await self._requester.request_json(
            "POST",
            f"{self._base_url}/api/documents/commands",
            endpoint="documents_write",
            params={"format": "md"},
            json_body={
                "command": "create-or-update-documents",
                "args": [{"secret": secret, "content": markdown}],
            },
        )
        if response.data is not True:
            raise ResponseFormatError(FIBERY, "create-or-update-documents did not answer true")

    async def schema(self) -> FiberySchema:
        """The workspace schema: one ``fibery.schema/query`` request."""
        [answer] = await self.run_commands([{"command": "fibery.schema/query"}])
        if not answer.success:
            raise BadRequestError(
                FIBERY, f"schema query failed: {answer.error_name}: {answer.error_message}"
            )
        return await asyncio.to_thread(parse_schema, answer.result)  # large: off the loop

    async def schema_types(self) -> list[str]:
        """Names (``Space/Type``) of every live type in the workspace schema, sorted."""
        return sorted((await self.schema()).types)

    async def _known_schema(self) -> FiberySchema:
        """The schema fetched once for this client, for callers that pass none."""
        async with self._schema_lock:
            if self._schema is None:
                self._schema = await self.schema()
            return self._schema

    @property
    def document_batch_size(self) -> int:
        """Secrets per ``get-documents`` call: the setting, or less after Fibery refused it."""
        return self._document_batch

    async def fetch_documents(self, secrets: Sequence[str]) -> dict[str, str]:
        """Markdown of each document secret; ``document_batch_size`` secrets per request.

        Secrets the answer leaves out are absent from the result. A call refused with 400 is
        asked again in smaller calls (``smaller_document_batch``: the next of
        ``DOCUMENT_BATCH_STEPS`` below its size, below 50 halves, down to one secret) and the
        smaller size is kept for every later call of this client.
        """
        rest = list(dict.fromkeys(secrets))
        contents: dict[str, str] = {}
        while rest:  # each call cut at the batch of the moment: another caller may lower it
            batch = self._document_batch
            chunk, rest = rest[:batch], rest[batch:]
            try:
                contents |= await self._documents.submit(chunk)
            except BadRequestError as error:
                if error.status_code != 400 or len(chunk) < 2:
                    raise
                if self._document_batch >= batch:  # not lowered by the refused call itself
                    self._lower_document_batch(smaller_document_batch(len(chunk)), error)
                rest = chunk + rest
        return contents

    def _lower_document_batch(self, size: int, error: BadRequestError) -> None:
        if size >= self._document_batch:
            return
        logger.warning(
            "Fibery refused a get-documents call (%s); sending at most %d secrets per call",
            error,
            size,
            extra={"source": FIBERY, "endpoint": "documents"},
        )
        self._document_batch = size
        self._documents.capacity = size

    async def fetch_entities(
        self,
        type_key: str,
        public_ids: Sequence[str],
        enrichment: EnrichmentType,
        schema: FiberySchema | None = None,
    ) -> list[EnrichedEntity]:
        """One ``EnrichedEntity`` per distinct public id, in the order first requested.

        ``schema``: the run's workspace schema; without it the client asks for it once. A type
        the schema lacks is answered without a request: every id is ``error``.
        """
        ids = list(dict.fromkeys(str(public_id) for public_id in public_ids))
        space_of(type_key)
        known = schema if schema is not None else await self._known_schema()
        entity_type = known.get(type_key)
        if entity_type is None:
            closest = known.closest_types(type_key)
            near = f" (closest: {', '.join(closest)})" if closest else ""
            message = f"unknown Fibery type {type_key}: the workspace has no such database{near}"
            return list(_errors(type_key, ids, message).values())
        found: dict[str, EnrichedEntity] = {}
        for chunk in _chunks(ids, self._settings.batch_size):
            found |= await self._fetch_chunk(entity_type, chunk, enrichment)
        return [found[public_id] for public_id in ids]

    async def _query(self, command: dict[str, Any]) -> CommandResult:
        """One entity query, merged with others when they wait together; a refusal of it
        alone (4xx) comes back as its failed result."""
        try:
            return await self._queries.submit(command)
        except BadRequestError as error:
            return _refusal_result(error)

    async def _fetch_chunk(
        self, entity_type: FiberyType, ids: list[str], enrichment: EnrichmentType
    ) -> dict[str, EnrichedEntity]:
        type_key = entity_type.name
        max_comments = self._settings.max_comments
        query = build_entity_query(entity_type, enrichment, max_comments, limit=len(ids))
        answer = await self._query(entity_query_command(query, ids))
        if not answer.success:
            if answer.error_name.endswith(TYPE_NOT_FOUND):
                error = one_line(f"unknown Fibery type {type_key}: {answer.error_message}")
                return _errors(type_key, ids, error)
            if answer.error_name.endswith(FIELD_NOT_FOUND):
                raise ConfigError(
                    one_line(
                        f"Fibery refused the query on {type_key}: {answer.error_message};"
                        f" check {type_key} in {CONFIG_FILE} (fields, name_field,"
                        " description_field)",
                        400,
                    )
                )
            raise BadRequestError(
                FIBERY,
                f"entity query on {type_key} failed: {answer.error_name}: {answer.error_message}",
            )
        if not isinstance(answer.result, list):
            raise ResponseFormatError(FIBERY, f"entity query on {type_key} is not a list")
        requested = set(ids)
        rows = {
            row.public_id: row
            for row in rows_of(answer.result, max_comments)
            if row.public_id in requested
        }
        documents = await self.fetch_documents(
            [secret for row in rows.values() for secret in row.secrets()]
        )
        return {
            public_id: entity_of(type_key, rows[public_id], enrichment, documents)
            if public_id in rows
            else EnrichedEntity(type_key=type_key, public_id=public_id, status="not_found")
            for public_id in ids
        }


def smaller_document_batch(size: int) -> int:
    """The batch to try after ``size`` secrets were refused: the largest of
    ``DOCUMENT_BATCH_STEPS`` below it, else half of it (at least 1)."""
    return next((step for step in DOCUMENT_BATCH_STEPS if step < size), max(1, (size + 1) // 2))


def _errors(type_key: str, ids: list[str], error: str) -> dict[str, EnrichedEntity]:
    return {
        public_id: EnrichedEntity(
            type_key=type_key, public_id=public_id, status="error", error=one_line(error)
        )
        for public_id in ids
    }


def _refused_request(error: Exception) -> bool:
    """A 4xx for a merged request may be one command's (or one batch's) fault."""
    return isinstance(error, BadRequestError)


def _refused_documents(error: Exception) -> bool:
    """A merged ``get-documents`` call refused with 400 goes back to its callers, which ask
    again at the batch it lowered (``fetch_documents``) rather than each alone at the size
    that was just refused; another 4xx is sent again alone per caller."""
    return isinstance(error, BadRequestError) and error.status_code != 400


def _refusal_result(error: BadRequestError) -> CommandResult:
    """The failed result of a command Fibery refused alone with an HTTP 4xx.

    The error body of such an answer is undocumented; the error name is recognised in its
    text, or by the message shape public code records for the two schema errors.
    """
    text = str(error)
    message = text.partition("): ")[2] or text
    if FIELD_NOT_FOUND in text or "field was not found" in text:
        name = f"entity.error/{FIELD_NOT_FOUND}"
    elif TYPE_NOT_FOUND in text or "database was not found" in text:
        name = f"entity.error/{TYPE_NOT_FOUND}"
    else:
        name = f"http-{error.status_code}"
    return CommandResult(False, {"name": name, "message": message})


def _base_url(settings: FiberySettings) -> str:
    if not settings.base_url:
        raise ConfigError(
            "FIBERY_BASE_URL is not set: put https://{workspace}.fibery.io in the"
            " environment or fibery.base_url in config.yaml"
        )
    return settings.base_url.rstrip("/")


def _command_results(commands: list[dict[str, Any]], data: Any) -> list[CommandResult]:
    if not isinstance(data, list) or len(data) != len(commands):
        raise ResponseFormatError(FIBERY, "commands answer is not one result per command")
    results = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("success"), bool):
            raise ResponseFormatError(FIBERY, "a command result has no boolean 'success'")
        results.append(CommandResult(item["success"], item.get("result")))
    return results


def _documents_body(chunks: list[list[str]]) -> dict[str, Any]:
    secrets = dict.fromkeys(secret for chunk in chunks for secret in chunk)
    return {"command": "get-documents", "args": [{"secret": s} for s in secrets]}


def _documents_split(chunks: list[list[str]], data: Any) -> list[dict[str, str]]:
    """Each chunk's documents; secrets the answer leaves out are absent."""
    if not isinstance(data, list):
        raise ResponseFormatError(FIBERY, "get-documents answer is not a JSON list")
    contents: dict[str, str] = {}
    for item in data:
        if isinstance(item, dict) and isinstance(secret := item.get("secret"), str):
            content = item.get("content")
            contents[secret] = content if isinstance(content, str) else ""
    return [{s: contents[s] for s in chunk if s in contents} for chunk in chunks]


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
