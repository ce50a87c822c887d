"""Writes in the Fibery simulator: ``fibery.entity/create`` and ``create-or-update-documents``.

Shapes follow Fibery's own clients (Fibery-inc/n8n-nodes-fibery
``nodes/Fibery/actions/transport/index.ts``; Fibery-inc/fibery-mcp-server
``src/fibery_mcp_server/fibery_client.py`` and ``tools/create_entity.py``):

- ``{"command": "fibery.entity/create", "args": {"type": "Space/Type", "entity": {field:
  value, "fibery/id": uuid}}}`` on ``POST /api/commands``; both clients choose the
  ``fibery/id`` themselves. The result is the created entity (the MCP server reads its
  ``fibery/public-id``); here its primitive fields.
- Rich text is never set by ``create`` (the MCP server strips rich-text fields before it): the
  entity gets an empty document per rich-text field, whose ``Collaboration~Documents/secret``
  a query selects; ``POST /api/documents/commands?format=md`` with ``{"command":
  "create-or-update-documents", "args": [{"secret", "content"}]}`` writes it and answers
  ``true``.

The checks are schema-based: an unknown type or field fails with the names public code
records (``sandbox.fibery_query``); the other failure names (read-only field, rich-text or
collection field in ``create``, a value of the wrong kind, an id that exists) are the
sandbox's own — Fibery publishes no command errors. Every write is kept in ``FiberyWrites``
so tests can read back what a client created.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from volt_agent.sandbox._fibery_schema import DOCUMENT
from volt_agent.sandbox.fibery_query import (
    TYPE_NOT_FOUND,
    FieldInfo,
    QueryError,
    field_not_found,
)

SECRET_FIELD = "Collaboration~Documents/secret"  # noqa: S105  # a field name, not a secret
CREATE_INVALID = "entity.error/create-invalid"
READ_ONLY = "entity.error/field-read-only"
NOT_SETTABLE = "entity.error/field-not-settable-on-create"
VALUE_INVALID = "entity.error/field-value-invalid"
ALREADY_EXISTS = "entity.error/entity-already-exists"
SETTABLE_READ_ONLY = frozenset({"fibery/id"})
"""Read-only fields a create may still give: Fibery's clients send their own ``fibery/id``."""
_SECRETS = uuid.UUID("0c7f4a52-2b1e-4d8e-9a61-3e5b7f2d9c14")


@dataclass
class FiberyWrites:
    """What clients wrote: created entities by type (as stored), the secrets of document
    writes in order and each written document's latest content."""

    created: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    documents_written: list[str] = field(default_factory=list)
    contents: dict[str, str] = field(default_factory=dict)

    def entities(self, type_name: str) -> list[dict[str, Any]]:
        return [entity for kind, entity in self.created if kind == type_name]


def read_only_fields(types: Sequence[Mapping[str, Any]]) -> dict[str, frozenset[str]]:
    """Type name → its fields flagged ``fibery/readonly?`` in the schema."""
    return {
        item["fibery/name"]: frozenset(
            f["fibery/name"]
            for f in item.get("fibery/fields", [])
            if (f.get("fibery/meta") or {}).get("fibery/readonly?") is True
        )
        for item in types
    }


def _value_error(name: str, type_name: str, why: str) -> QueryError:
    return QueryError(VALUE_INVALID, f'"{name}" field of "{type_name}" database: {why}')


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_iso(value: Any, parse: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse(value)
    except ValueError:
        return False
    return True


def _primitive_ok(kind: str, value: Any) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    checks: dict[str, bool] = {
        "fibery/text": isinstance(value, str),
        "fibery/email": isinstance(value, str) and "@" in value,
        "fibery/uuid": _is_uuid(value),
        "fibery/date": _is_iso(value, date.fromisoformat),
        "fibery/date-time": _is_iso(value, datetime.fromisoformat),
        "fibery/decimal": number,
        "fibery/int": isinstance(value, int) and not isinstance(value, bool),
        "fibery/rank": number,
        "fibery/bool": isinstance(value, bool),
    }
    return checks.get(kind, True)


def _check_value(type_name: str, name: str, info: FieldInfo, value: Any) -> None:
    if info.type == DOCUMENT:
        raise QueryError(
            NOT_SETTABLE,
            f'"{name}" is a rich-text field of "{type_name}": create the entity, then write'
            " its document with create-or-update-documents",
        )
    if info.collection:
        raise QueryError(
            NOT_SETTABLE,
            f'"{name}" is a collection of "{type_name}": add items with'
            " fibery.entity/add-collection-items",
        )
    if value is None:
        if name == "fibery/id":
            raise _value_error(name, type_name, "must be a UUID, not null")
        return
    if not info.primitive:
        if not (isinstance(value, Mapping) and _is_uuid(value.get("fibery/id"))):
            raise _value_error(name, type_name, 'a relation takes {"fibery/id": "<uuid>"}')
        return
    if not _primitive_ok(info.type, value):
        raise _value_error(name, type_name, f"{value!r} is not a valid {info.type}")


@dataclass
class EntityCreator:
    """Runs ``fibery.entity/create`` against the simulator's schema, entities and documents."""

    index: Mapping[str, Mapping[str, FieldInfo]]
    read_only: Mapping[str, frozenset[str]]
    collections: MutableMapping[str, list[dict[str, Any]]]
    documents: MutableMapping[str, str]
    writes: FiberyWrites

    def create(self, args: Any) -> dict[str, Any]:
        """The created entity's primitive fields; ``QueryError`` for a refused command."""
        if not isinstance(args, Mapping) or not isinstance(args.get("type"), str):
            raise QueryError(CREATE_INVALID, 'args must be {"type": "Space/Type", "entity": {...}}')
        type_name = args["type"]
        given = args.get("entity")
        if not isinstance(given, Mapping):
            raise QueryError(CREATE_INVALID, "args.entity must be an object of field values")
        fields = self.index.get(type_name)
        if fields is None:
            raise QueryError(TYPE_NOT_FOUND, f"{type_name} database was not found.")
        read_only = self.read_only.get(type_name, frozenset())
        for name, value in given.items():
            info = fields.get(name)
            if info is None:
                raise field_not_found(name, type_name)
            if name in read_only and name not in SETTABLE_READ_ONLY:
                raise QueryError(
                    READ_ONLY, f'"{name}" field is read-only in "{type_name}" database.'
                )
            _check_value(type_name, name, info, value)
        existing = self.collections.get(type_name, [])
        entity_id = given.get("fibery/id") or str(uuid.uuid4())
        if any(item.get("fibery/id") == entity_id for item in existing):
            raise QueryError(
                ALREADY_EXISTS, f'an entity with fibery/id {entity_id} exists in "{type_name}"'
            )
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        entity: dict[str, Any] = {
            **given,
            "fibery/id": entity_id,
            "fibery/public-id": str(len(existing) + 1),
            "fibery/creation-date": now,
            "fibery/modification-date": now,
        }
        for name, info in fields.items():
            if info.type == DOCUMENT:
                secret = str(uuid.uuid5(_SECRETS, f"{entity_id}/{name}"))
                self.documents[secret] = ""
                entity[name] = {SECRET_FIELD: secret}
        self.collections[type_name] = [*existing, entity]
        self.writes.created.append((type_name, entity))
        return {
            name: value
            for name, value in entity.items()
            if name in fields and fields[name].primitive and not fields[name].collection
        }

    def write_documents(self, args: Any) -> str | None:
        """``create-or-update-documents``; the error message of a malformed ``args``, else
        ``None`` (as the command's name says, an unknown secret gets a new document)."""
        valid = isinstance(args, list) and all(
            isinstance(a, Mapping)
            and isinstance(a.get("secret"), str)
            and isinstance(a.get("content"), str)
            for a in args
        )
        if not valid:
            return (
                'body must be {"command": "create-or-update-documents", "args":'
                ' [{"secret": ..., "content": ...}, ...]}'
            )
        for arg in args:
            self.documents[arg["secret"]] = arg["content"]
            self.writes.documents_written.append(arg["secret"])
            self.writes.contents[arg["secret"]] = arg["content"]
        return None
