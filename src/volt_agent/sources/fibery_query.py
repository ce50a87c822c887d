"""The ``fibery.entity/query`` volt-agent sends for one type, built from the type's schema.

Only what the type has is selected: the name field as the type spells it (``Space/Name`` or
the older ``Space/name``), the state only with the workflow mixin, assignees only with
assignments, comments only with comments, the description only when a rich-text description
field exists. Collection sub-queries carry a number, never the deprecated ``q/no-limit``
(https://developers.fibery.com/guides/http-api/query-entities: "In sub-queries, use 100").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from volt_agent.config import EnrichmentType
from volt_agent.errors import ConfigError, UserInputError
from volt_agent.sources.fibery_schema import ASSIGNEES, COMMENTS, WORKFLOW_STATE, FiberyType

ASSIGNEES_LIMIT = 100
"""Assignees read per entity: the sub-query limit Fibery's pagination guide recommends."""
RESERVED_ALIASES = frozenset(
    {"id", "public_id", "name", "state", "created", "modified"}
    | {"description_secret", "assignees", "comments", "comment_count"}
)
"""Select keys used by ``build_entity_query`` itself; configured field aliases may not clash."""


def space_of(type_key: str) -> str:
    space, _, name = type_key.partition("/")
    if not space or not name:
        raise UserInputError(f"Fibery type {type_key!r} must look like 'Space/Type'")
    return space


def build_entity_query(
    entity_type: FiberyType, enrichment: EnrichmentType, max_comments: int, *, limit: int = 500
) -> dict[str, Any]:
    """The ``query`` argument of a ``fibery.entity/query`` over ``$ids`` public ids.

    Only what ``entity_type`` has is selected (see the module docstring). The comment total
    is read with ``q/count``; with ``max_comments == 0`` no comment itself is. Configured
    fields are selected under their aliases.
    """
    type_key = entity_type.name
    space_of(type_key)
    select: dict[str, Any] = {"id": "fibery/id", "public_id": "fibery/public-id"}
    if entity_type.has("fibery/creation-date"):
        select["created"] = "fibery/creation-date"
    if entity_type.has("fibery/modification-date"):
        select["modified"] = "fibery/modification-date"
    name = enrichment.name_field or entity_type.title_field()
    if name:
        select["name"] = name
    if entity_type.has(WORKFLOW_STATE):
        select["state"] = [WORKFLOW_STATE, "enum/name"]
    description = enrichment.description_field or entity_type.description_field()
    if description:
        select["description_secret"] = [description, "Collaboration~Documents/secret"]
    if entity_type.has(ASSIGNEES):
        select["assignees"] = {
            "q/from": ASSIGNEES,
            "q/select": {"name": "user/name", "email": "user/email"},
            "q/limit": ASSIGNEES_LIMIT,
        }
    if entity_type.has(COMMENTS):
        select["comment_count"] = ["q/count", [COMMENTS, "fibery/id"]]
        if max_comments > 0:
            select["comments"] = {
                "q/from": COMMENTS,
                "q/select": {
                    "created": "fibery/creation-date",
                    "author": ["comment/author", "user/name"],
                    "secret": "comment/document-secret",
                },
                "q/order-by": [[["fibery/creation-date"], "q/desc"]],
                "q/limit": max_comments,
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
