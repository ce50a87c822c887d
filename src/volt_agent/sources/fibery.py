"""Fibery client: batched entity queries over the commands API plus batched documents.

For one type and a list of public ids, ``fetch_entities`` sends one ``fibery.entity/query``
per ``batch_size`` ids and one ``get-documents`` call per ``document_batch_size`` rich-text
documents (descriptions and kept comments) of that chunk — never one request per entity.
Calls made at the same time (enrichment activities of several types in one worker) that
wait for the same rate-limit slot leave in one request: up to ``MAX_COMMANDS_PER_REQUEST``
entity queries per ``/api/commands`` request, up to ``document_batch_size`` documents per
``get-documents`` request (``sources.coalesce``).
An id Fibery does not return is ``not_found``; an unknown type makes its ids ``error``:
both are data, the run goes on.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import httpx
from pydantic import SecretStr

from volt_agent.config import EnrichmentType, FiberySettings, HttpSettings
from volt_agent.domain.models import Comment, EnrichedEntity
from volt_agent.errors import BadRequestError, ConfigError, ResponseFormatError, UserInputError
from volt_agent.sources.coalesce import Coalescer
from volt_agent.sources.http import (
    ApiProfile,
    ApiRequester,
    BaseApiClient,
    FiberyAuth,
    LazyBody,
    SleepFn,
    new_async_client,
)
from volt_agent.sources.parsing import as_datetime, one_line

FIBERY = "Fibery"
TYPE_NOT_FOUND = "schema-type-not-found"
MAX_COMMANDS_PER_REQUEST = 10
"""Entity queries merged into one ``/api/commands`` request at most (each up to
``batch_size`` entities), which keeps a merged answer to a few megabytes."""
RESERVED_ALIASES = frozenset(
    {"id", "public_id", "name", "state", "created", "modified"}
    | {"description_secret", "assignees", "comments"}
)
"""Select keys used by ``build_entity_query`` itself; configured field aliases may not clash."""

_OLDEST = datetime.min.replace(tzinfo=UTC)


def _space(type_key: str) -> str:
    space, _, name = type_key.partition("/")
    if not space or not name:
        raise UserInputError(f"Fibery type {type_key!r} must look like 'Space/Type'")
    return space


def build_entity_query(
    type_key: str, enrichment: EnrichmentType, max_comments: int, *, limit: int = 500
) -> dict[str, Any]:
    """The ``query`` argument of a ``fibery.entity/query`` over ``$ids`` public ids.

    Comments are selected in full (their count is reported); with ``max_comments == 0``
    only their creation dates are, since no comment text will be kept. Configured fields
    are selected under their aliases.
    """
    space = _space(type_key)
    comment_select: dict[str, Any] = {"created": "fibery/creation-date"}
    if max_comments > 0:
        comment_select |= {
            "author": ["comment/author", "user/name"],
            "secret": "comment/document-secret",
        }
    select: dict[str, Any] = {
        "id": "fibery/id",
        "public_id": "fibery/public-id",
        "name": enrichment.name_field or f"{space}/Name",
        "state": ["workflow/state", "enum/name"],
        "created": "fibery/creation-date",
        "modified": "fibery/modification-date",
        "description_secret": [
            enrichment.description_field or f"{space}/Description",
            "Collaboration~Documents/secret",
        ],
        "assignees": {
            "q/from": "assignments/assignees",
            "q/select": {"name": "user/name", "email": "user/email"},
            "q/limit": "q/no-limit",
        },
        "comments": {
            "q/from": "comments/comments",
            "q/select": comment_select,
            "q/limit": "q/no-limit",
        },
    }
    for alias, path in enrichment.fields.items():
        if alias in RESERVED_ALIASES:
            raise ConfigError(
                f"enrichment field alias {alias!r} of {type_key} clashes with a built-in"
                " key: rename it"
            )
        select[alias] = path if isinstance(path, str) else list(path)
    return {
        "q/from": type_key,
        "q/select": select,
        "q/where": ["q/in", ["fibery/public-id"], "$ids"],
        "q/limit": limit,
    }


def entity_query_command(query: dict[str, Any], public_ids: Sequence[str]) -> dict[str, Any]:
    return {
        "command": "fibery.entity/query",
        "args": {"query": query, "params": {"$ids": list(public_ids)}},
    }


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


@dataclass
class _Row:
    """An entity row with its comments already cut to the newest ``max_comments``."""

    public_id: str
    data: dict[str, Any]
    description_secret: str | None
    comments: list[dict[str, Any]]
    comment_count: int

    def secrets(self) -> list[str]:
        found = [self.description_secret] + [c.get("secret") for c in self.comments]
        return [s for s in found if isinstance(s, str) and s]


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
        )
        self._documents: Coalescer[list[str], dict[str, str]] = Coalescer(
            self._post_documents,
            build=_documents_body,
            split=_documents_split,
            capacity=settings.document_batch_size,
            weight=len,
        )

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
        response = await self._requester.request_json(
            "POST",
            f"{self._base_url}/api/documents/commands",
            endpoint="documents",
            params={"format": "md"},
            json_body=body,
        )
        return response.data

    async def schema_types(self) -> list[str]:
        """Names (``Space/Type``) of every type in the workspace schema, sorted."""
        [answer] = await self.run_commands([{"command": "fibery.schema/query"}])
        if not answer.success:
            raise BadRequestError(
                FIBERY, f"schema query failed: {answer.error_name}: {answer.error_message}"
            )
        types = answer.result.get("fibery/types") if isinstance(answer.result, dict) else None
        if not isinstance(types, list):
            raise ResponseFormatError(FIBERY, "schema answer has no 'fibery/types' list")
        return sorted(
            name
            for item in types
            if isinstance(item, dict) and isinstance(name := item.get("fibery/name"), str)
        )

    async def fetch_documents(self, secrets: Sequence[str]) -> dict[str, str]:
        """Markdown of each document secret; ``document_batch_size`` secrets per request.

        Secrets the answer leaves out are absent from the result.
        """
        unique = list(dict.fromkeys(secrets))
        contents: dict[str, str] = {}
        for chunk in _chunks(unique, self._settings.document_batch_size):
            contents |= await self._documents.submit(chunk)
        return contents

    async def fetch_entities(
        self, type_key: str, public_ids: Sequence[str], enrichment: EnrichmentType
    ) -> list[EnrichedEntity]:
        """One ``EnrichedEntity`` per distinct public id, in the order first requested."""
        ids = list(dict.fromkeys(str(public_id) for public_id in public_ids))
        found: dict[str, EnrichedEntity] = {}
        for chunk in _chunks(ids, self._settings.batch_size):
            found |= await self._fetch_chunk(type_key, chunk, enrichment)
        return [found[public_id] for public_id in ids]

    async def _fetch_chunk(
        self, type_key: str, ids: list[str], enrichment: EnrichmentType
    ) -> dict[str, EnrichedEntity]:
        max_comments = self._settings.max_comments
        query = build_entity_query(type_key, enrichment, max_comments, limit=len(ids))
        answer = await self._queries.submit(entity_query_command(query, ids))
        if not answer.success:
            if answer.error_name.endswith(TYPE_NOT_FOUND):
                error = one_line(f"unknown Fibery type {type_key}: {answer.error_message}")
                return {
                    public_id: EnrichedEntity(
                        type_key=type_key, public_id=public_id, status="error", error=error
                    )
                    for public_id in ids
                }
            raise BadRequestError(
                FIBERY,
                f"entity query on {type_key} failed: {answer.error_name}: {answer.error_message}",
            )
        if not isinstance(answer.result, list):
            raise ResponseFormatError(FIBERY, f"entity query on {type_key} is not a list")
        requested = set(ids)
        rows = {
            row.public_id: row
            for row in _rows(answer.result, max_comments)
            if row.public_id in requested
        }
        documents = await self.fetch_documents(
            [secret for row in rows.values() for secret in row.secrets()]
        )
        return {
            public_id: _entity(type_key, rows[public_id], enrichment, documents)
            if public_id in rows
            else EnrichedEntity(type_key=type_key, public_id=public_id, status="not_found")
            for public_id in ids
        }


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


def _rows(result: list[Any], max_comments: int) -> Iterator[_Row]:
    for data in result:
        if not isinstance(data, dict) or data.get("public_id") is None:
            raise ResponseFormatError(FIBERY, "an entity row has no public id")
        raw_comments = data.get("comments")
        comments = (
            [c for c in raw_comments if isinstance(c, dict)]
            if isinstance(raw_comments, list)
            else []
        )
        comments.sort(key=lambda c: as_datetime(c.get("created")) or _OLDEST)
        secret = _scalar(data.get("description_secret"), "Collaboration~Documents/secret")
        yield _Row(
            public_id=str(data["public_id"]),
            data=data,
            description_secret=secret,
            comments=comments[-max_comments:] if max_comments > 0 else [],
            comment_count=len(comments),
        )


def _entity(
    type_key: str, row: _Row, enrichment: EnrichmentType, documents: dict[str, str]
) -> EnrichedEntity:
    data = row.data
    assignees = data.get("assignees")
    people = [
        person
        for item in (assignees if isinstance(assignees, list) else [])
        if isinstance(item, dict)
        and (person := _scalar(item.get("name")) or _scalar(item.get("email")))
    ]
    comments = [
        Comment(
            author=_scalar(comment.get("author"), "user/name"),
            created=as_datetime(comment.get("created")),
            text=documents.get(comment.get("secret") or "", ""),
        )
        for comment in row.comments
    ]
    fibery_id = data.get("id")
    return EnrichedEntity(
        type_key=type_key,
        public_id=row.public_id,
        status="found",
        fibery_id=None if fibery_id is None else str(fibery_id),
        name=_scalar(data.get("name")),
        state=_scalar(data.get("state"), "enum/name"),
        created=as_datetime(data.get("created")),
        modified=as_datetime(data.get("modified")),
        assignees=people,
        description=documents.get(row.description_secret or "", ""),
        comments=comments,
        comment_count=row.comment_count,
        fields={alias: data.get(alias) for alias in enrichment.fields},
    )


def _scalar(value: Any, key: str | None = None) -> str | None:
    """A selected string, also when the API nests it as ``{key: value}``."""
    if isinstance(value, dict) and key is not None:
        value = value.get(key)
    return value if isinstance(value, str) and value else None
