"""Writing to Fibery: create an entity under an id we choose, find it again by that id.

Fibery's own clients (Fibery-inc/n8n-nodes-fibery ``nodes/Fibery/actions/transport/index.ts``,
Fibery-inc/fibery-mcp-server ``src/fibery_mcp_server/tools/create_entity.py``) send
``fibery.entity/create`` with ``{"type": "Space/Type", "entity": {..., "fibery/id": <uuid
they generated>}}`` and then query the entity by that id for its rich-text documents'
``Collaboration~Documents/secret``; the n8n node sends both commands in one request, as
``create_entity`` here does. Rich text is not a create field: its document is written after
(``FiberyClient.write_document``).
"""

from __future__ import annotations

from typing import Any

from volt_agent.errors import BadRequestError, ResponseFormatError
from volt_agent.sources.fibery import FIBERY, CommandResult, FiberyClient

SECRET_FIELD = "Collaboration~Documents/secret"  # noqa: S105  # a field name, not a secret


def by_id_query(type_key: str, fibery_id: str, select: dict[str, Any]) -> dict[str, Any]:
    """``fibery.entity/query`` of the one entity with ``fibery_id`` (none if it is absent)."""
    query = {
        "q/from": type_key,
        "q/select": select,
        "q/where": ["=", ["fibery/id"], "$id"],
        "q/limit": 1,
    }
    args = {"query": query, "params": {"$id": fibery_id}}
    return {"command": "fibery.entity/query", "args": args}


def _row(type_key: str, answer: CommandResult, what: str) -> dict[str, Any] | None:
    if not answer.success:
        raise BadRequestError(
            FIBERY, f"{what} on {type_key} failed: {answer.error_name}: {answer.error_message}"
        )
    rows = answer.result
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ResponseFormatError(FIBERY, f"{what} on {type_key} is not a list of entities")
    return rows[0] if rows else None


async def find_by_id(
    client: FiberyClient, type_key: str, fibery_id: str, select: dict[str, Any]
) -> dict[str, Any] | None:
    """The selected fields of the entity with ``fibery_id``, or ``None``: one request."""
    [answer] = await client.run_commands([by_id_query(type_key, fibery_id, select)])
    return _row(type_key, answer, "entity query")


async def create_entity(
    client: FiberyClient, type_key: str, entity: dict[str, Any], select: dict[str, Any]
) -> dict[str, Any]:
    """Create ``entity`` (it carries its ``fibery/id``) and read back ``select`` of it, in one
    request. A refused create raises ``BadRequestError`` with Fibery's error name and message
    (an HTTP 4xx for the whole request, when Fibery answers so, raises it too)."""
    fibery_id = entity.get("fibery/id")
    if not isinstance(fibery_id, str):
        raise ValueError("create_entity needs the entity's fibery/id")
    create = {"command": "fibery.entity/create", "args": {"type": type_key, "entity": entity}}
    created, found = await client.run_commands([create, by_id_query(type_key, fibery_id, select)])
    if not created.success:
        raise BadRequestError(
            FIBERY,
            f"creating a {type_key} entity failed: {created.error_name}: {created.error_message}",
        )
    row = _row(type_key, found, "entity query")
    if row is None:
        raise ResponseFormatError(FIBERY, f"the created {type_key} entity is not found by its id")
    return row
