"""The sandbox workspace's Fibery schema, shaped like a ``fibery.schema/query`` answer.

Shape (https://developers.fibery.com/guides/http-api/schema): ``{"fibery/id", "fibery/types":
[{"fibery/name", "fibery/id", "fibery/fields": [{"fibery/name", "fibery/type", "fibery/id",
"fibery/meta": {...}}], "fibery/meta": {"fibery/primitive?", "fibery/domain?", "app/mixins",
...}}], "fibery/meta": {...}}``. A type has the ``workflow/state``, ``assignments/assignees``
and ``comments/comments`` fields only with the matching mixin (``workflow/workflow``,
``assignments/assignments-mixin``, ``comments/comments-mixin``), as in Fibery's schema
example. Deleted types and fields stay in the answer renamed ``<name>_<hash>_deleted`` and
flagged ``fibery/deleted?`` (public code that prunes such tombstones). Single-select and
workflow-state types are named ``<Space>/<Field>_<Space>/<Type>`` and
``workflow/state_<Space>/<Type>``; primitive types are listed with ``fibery/primitive?``.

Every id is a name-based UUID, so the schema is the same for every workspace seed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

_NAMESPACE = uuid.UUID("5f1b0c9e-6a43-4c55-9d0e-2f6c7a1b8e30")
DOCUMENT = "Collaboration~Documents/Document"
USER = "fibery/user"
COMMENT = "comments/comment"
WORKFLOW_MIXIN = "workflow/workflow"
ASSIGNMENTS_MIXIN = "assignments/assignments-mixin"
COMMENTS_MIXIN = "comments/comments-mixin"
PRIMITIVES = (
    "fibery/uuid",
    "fibery/text",
    "fibery/email",
    "fibery/date-time",
    "fibery/date",
    "fibery/decimal",
    "fibery/int",
    "fibery/bool",
    "fibery/rank",
)


@dataclass(frozen=True)
class TypeLayout:
    """What one sandbox database has: its name field's spelling, description and mixins."""

    name_field: str
    description: bool = True
    workflow: bool = True
    assignments: bool = True
    comments: bool = True

    @property
    def space(self) -> str:
        return self.name_field.split("/", 1)[0]

    @property
    def description_field(self) -> str | None:
        return f"{self.space}/Description" if self.description else None

    def mixins(self) -> dict[str, bool]:
        flags = {
            WORKFLOW_MIXIN: self.workflow,
            ASSIGNMENTS_MIXIN: self.assignments,
            COMMENTS_MIXIN: self.comments,
        }
        return {"fibery/rank-mixin": True, **{name: True for name, on in flags.items() if on}}


LAYOUTS: dict[str, TypeLayout] = {
    "Scrum/Task": TypeLayout("Scrum/Name"),
    "Scrum/Bug": TypeLayout("Scrum/Name"),
    "Scrum/Sub-bug": TypeLayout("Scrum/Name"),
    "Scrum/Feature": TypeLayout("Scrum/Name"),
    "Scrum/Build": TypeLayout("Scrum/Name", description=False, workflow=False),
    "Scrum/Sub-task": TypeLayout("Scrum/Name"),
    "Scrum/Chore": TypeLayout("Scrum/Name", assignments=False, comments=False),
    "Product/Feature": TypeLayout("Product/name"),
}
"""Builds have no workflow and no description, chores no assignees and no comments, and the
older Product space spells its name field ``Product/name`` (as Fibery's type-creation
example does: ``${space}/name``)."""

_TASK = (
    ("Scrum/Estimate", "fibery/decimal"),
    ("Scrum/Sprint", "Scrum/Sprint"),
    ("Scrum/Started", "fibery/date"),
    ("Scrum/Completed", "fibery/date"),
)
_BUG = (
    ("Scrum/Severity", "Scrum/Severity_{type}"),
    ("Scrum/Steps to reproduce", "fibery/text"),
    ("Scrum/Resolved", "fibery/date"),
)
SPECIFIC_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "Scrum/Task": _TASK,
    "Scrum/Sub-task": _TASK,
    "Scrum/Bug": _BUG,
    "Scrum/Sub-bug": _BUG,
    "Scrum/Feature": (("Scrum/Release", "Scrum/Release"),),
    "Scrum/Build": (("Scrum/Version", "fibery/text"),),
    "Product/Feature": (
        ("Product/Priority", "Product/Priority_{type}"),
        ("Product/Planned Start", "fibery/date"),
        ("Product/Planned End", "fibery/date"),
        ("Product/Release", "Product/Release"),
    ),
}
"""Fields only some types have; ``{type}`` stands for the holder type (single-select types
are per holder)."""

_RELATED: dict[str, str] = {
    "Scrum/Sprint": "Scrum/Name",
    "Scrum/Release": "Scrum/Name",
    "Product/Release": "Product/name",
}
"""Databases the entities point at (to-one relations), with their name field."""

REPORT_TYPE = "Reports/Weekly Report"
REPORT_FIELDS = {
    "name": "Reports/Name",
    "period": "Reports/Period",
    "summary": "Reports/Summary",
}
"""The database volt-agent's Fibery delivery writes team summaries into (``delivery.fibery``
defaults): a title, the period as text and the summary as a rich-text document."""

DELETED_TYPE = "Scrum/Epic_3f9a1c_deleted"
DELETED_FIELD = ("Scrum/Task", "Scrum/Story Points_b71e04_deleted")


def _id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def _field(holder: str, name: str, kind: str, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "fibery/name": name,
        "fibery/type": kind,
        "fibery/meta": meta or {},
        "fibery/id": _id("field", holder, name),
    }


def _relation(holder: str, name: str, kind: str, *, collection: bool) -> dict[str, Any]:
    meta = {"fibery/collection?": collection, "fibery/relation": _id("relation", holder, name)}
    return _field(holder, name, kind, meta)


def _type(name: str, fields: list[dict[str, Any]], **meta: Any) -> dict[str, Any]:
    return {
        "fibery/name": name,
        "fibery/fields": fields,
        "fibery/meta": {"fibery/primitive?": False, "fibery/domain?": False, **meta},
        "fibery/id": _id("type", name),
    }


def _basic_fields(holder: str) -> list[dict[str, Any]]:
    """The mandatory primitive fields of every database (Fibery's Type API)."""
    readonly = {"fibery/readonly?": True}
    return [
        _field(holder, "fibery/id", "fibery/uuid", {**readonly, "fibery/id?": True}),
        _field(holder, "fibery/public-id", "fibery/text", {**readonly, "fibery/public-id?": True}),
        _field(
            holder,
            "fibery/creation-date",
            "fibery/date-time",
            {**readonly, "fibery/creation-date?": True, "fibery/default-value": "$now"},
        ),
        _field(
            holder,
            "fibery/modification-date",
            "fibery/date-time",
            {**readonly, "fibery/modification-date?": True, "fibery/default-value": "$now"},
        ),
    ]


def _domain_type(type_key: str, layout: TypeLayout) -> dict[str, Any]:
    fields = [
        *_basic_fields(type_key),
        _field(type_key, "fibery/rank", "fibery/rank"),
        _field(type_key, layout.name_field, "fibery/text", {"ui/title?": True}),
    ]
    if layout.description_field:
        fields.append(_relation(type_key, layout.description_field, DOCUMENT, collection=False))
    if layout.workflow:
        fields.append(
            _relation(type_key, "workflow/state", f"workflow/state_{type_key}", collection=False)
        )
    if layout.assignments:
        fields.append(_relation(type_key, "assignments/assignees", USER, collection=True))
    if layout.comments:
        fields.append(_relation(type_key, "comments/comments", COMMENT, collection=True))
    for name, pattern in SPECIFIC_FIELDS.get(type_key, ()):
        kind = pattern.format(type=type_key)
        if kind in PRIMITIVES:
            fields.append(_field(type_key, name, kind))
        else:
            fields.append(_relation(type_key, name, kind, collection=False))
    if type_key == DELETED_FIELD[0]:
        deleted = _field(type_key, DELETED_FIELD[1], "fibery/decimal")
        fields.append({**deleted, "fibery/deleted?": True})
    return _type(
        type_key,
        fields,
        **{"fibery/domain?": True, "fibery/secured?": True, "app/mixins": layout.mixins()},
    )


def _report_type() -> dict[str, Any]:
    fields = [
        *_basic_fields(REPORT_TYPE),
        _field(REPORT_TYPE, "fibery/rank", "fibery/rank"),
        _field(REPORT_TYPE, REPORT_FIELDS["name"], "fibery/text", {"ui/title?": True}),
        _field(REPORT_TYPE, REPORT_FIELDS["period"], "fibery/text"),
        _relation(REPORT_TYPE, REPORT_FIELDS["summary"], DOCUMENT, collection=False),
    ]
    return _type(REPORT_TYPE, fields, **{"fibery/domain?": True, "fibery/secured?": True})


def _enum_type(name: str, *, workflow: bool = False) -> dict[str, Any]:
    fields = [
        _field(name, "fibery/id", "fibery/uuid", {"fibery/readonly?": True}),
        _field(name, "enum/name", "fibery/text", {"ui/title?": True}),
        _field(name, "fibery/rank", "fibery/rank"),
    ]
    if workflow:
        fields.append(_field(name, "workflow/Final", "fibery/bool"))
    return _type(name, fields, **{"fibery/enum?": True})


def _system_types() -> list[dict[str, Any]]:
    return [
        _type(
            USER,
            [
                *_basic_fields(USER)[:2],
                _field(USER, "user/name", "fibery/text", {"ui/title?": True}),
                _field(USER, "user/email", "fibery/email"),
            ],
        ),
        _type(
            COMMENT,
            [
                *_basic_fields(COMMENT),
                _relation(COMMENT, "comment/author", USER, collection=False),
                _field(COMMENT, "comment/document-secret", "fibery/text"),
            ],
        ),
        _type(
            DOCUMENT,
            [
                _field(DOCUMENT, "fibery/id", "fibery/uuid", {"fibery/readonly?": True}),
                _field(DOCUMENT, "Collaboration~Documents/secret", "fibery/text"),
            ],
        ),
    ]


def schema_answer() -> dict[str, Any]:
    """The ``result`` of ``fibery.schema/query`` for the sandbox workspace."""
    types: list[dict[str, Any]] = []
    for type_key, layout in LAYOUTS.items():
        types.append(_domain_type(type_key, layout))
        if layout.workflow:
            types.append(_enum_type(f"workflow/state_{type_key}", workflow=True))
        for _, kind in SPECIFIC_FIELDS.get(type_key, ()):
            if "{type}" in kind:
                types.append(_enum_type(kind.format(type=type_key)))
    for name, title in _RELATED.items():
        fields = [*_basic_fields(name), _field(name, title, "fibery/text", {"ui/title?": True})]
        types.append(_type(name, fields, **{"fibery/domain?": True}))
    types.append(_report_type())
    epic = _type(
        DELETED_TYPE,
        [*_basic_fields(DELETED_TYPE), _field(DELETED_TYPE, "Scrum/Name", "fibery/text")],
        **{"fibery/domain?": True},
    )
    types.append({**epic, "fibery/deleted?": True})
    types += _system_types()
    types += [_type(name, [], **{"fibery/primitive?": True}) for name in PRIMITIVES]
    return {
        "fibery/id": _id("schema"),
        "fibery/types": types,
        "fibery/meta": {"fibery/version": "1.0.62", "maintenance?": False},
    }
