"""The Fibery workspace schema as the client reads it, and the check of the enrichment config.

``parse_schema`` reads the ``result`` of ``fibery.schema/query``
(https://developers.fibery.com/guides/http-api/schema): ``fibery/types`` → ``fibery/name``,
``fibery/fields`` (``fibery/name``, ``fibery/type``, ``fibery/meta`` with
``fibery/collection?`` …) and the type's ``fibery/meta``. Types and fields flagged
``fibery/deleted?`` are tombstones Fibery keeps in the schema under a ``…_deleted`` name;
they are dropped, and so are fields pointing at a deleted type (public code does the same:
selecting one fails the whole query).

``check_enrichment_config`` runs before any entity query: a configured type or field the
workspace lacks is a ``ConfigError`` of one line naming it and the closest valid names.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from volt_agent.config import EnrichmentSettings, EnrichmentType
from volt_agent.errors import ConfigError, ResponseFormatError

SOURCE = "Fibery"
DOCUMENT_TYPE = "Collaboration~Documents/Document"
WORKFLOW_STATE = "workflow/state"
ASSIGNEES = "assignments/assignees"
COMMENTS = "comments/comments"
CONFIG_FILE = "enrichment_config.yaml"


class FiberyField(BaseModel):
    """One field: its full name, the type it holds and whether it is a collection."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    type: str
    collection: bool = False
    meta: dict[str, Any] = Field(default_factory=dict)


class FiberyType(BaseModel):
    """One type (database, enum, system or primitive type) and its live fields by name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    fields: dict[str, FiberyField] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)

    @property
    def space(self) -> str:
        return self.name.partition("/")[0]

    @property
    def primitive(self) -> bool:
        return self.meta.get("fibery/primitive?") is True

    @property
    def mixins(self) -> frozenset[str]:
        """Installed mixins (``workflow/workflow``, ``comments/comments-mixin`` …)."""
        mixins = self.meta.get("app/mixins")
        if not isinstance(mixins, Mapping):
            return frozenset()
        return frozenset(name for name, on in mixins.items() if on)

    def has(self, field: str) -> bool:
        return field in self.fields

    def title_field(self) -> str | None:
        """The name field as this type spells it: the ``ui/title?`` one, else ``Space/Name``
        or the older ``Space/name``."""
        for field in self.fields.values():
            if field.meta.get("ui/title?") is True:
                return field.name
        for candidate in (f"{self.space}/Name", f"{self.space}/name"):
            if candidate in self.fields:
                return candidate
        return None

    def description_field(self) -> str | None:
        """``Space/Description`` (or ``Space/description``) when it is a rich-text field."""
        for candidate in (f"{self.space}/Description", f"{self.space}/description"):
            field = self.fields.get(candidate)
            if field is not None and field.type == DOCUMENT_TYPE:
                return candidate
        return None


class FiberySchema(BaseModel):
    """Every live type of the workspace by name; saved per run as ``fibery_schema.json``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    types: dict[str, FiberyType] = Field(default_factory=dict)

    def get(self, name: str) -> FiberyType | None:
        return self.types.get(name)

    def is_primitive(self, type_name: str) -> bool:
        """Values of ``type_name`` are plain values (text, numbers …), not entities."""
        found = self.types.get(type_name)
        return found is None or found.primitive

    def closest_types(self, name: str) -> list[str]:
        candidates = [t.name for t in self.types.values() if not t.primitive]
        return difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)


def _deleted(node: Mapping[str, Any]) -> bool:
    meta = node.get("fibery/meta")
    return node.get("fibery/deleted?") is True or (
        isinstance(meta, Mapping) and meta.get("fibery/deleted?") is True
    )


def _unwrap(result: Any) -> Any:
    """The command's ``result``, also when handed the envelope or the list around it."""
    if isinstance(result, list) and len(result) == 1 and isinstance(result[0], Mapping):
        result = result[0]
    if isinstance(result, Mapping) and "fibery/types" not in result and "result" in result:
        result = result["result"]
    return result


def parse_schema(result: Any) -> FiberySchema:
    """The schema in the ``result`` of a ``fibery.schema/query`` command."""
    result = _unwrap(result)
    raw_types = result.get("fibery/types") if isinstance(result, Mapping) else None
    if not isinstance(raw_types, list):
        raise ResponseFormatError(SOURCE, "schema answer has no 'fibery/types' list")
    nodes = [
        t for t in raw_types if isinstance(t, Mapping) and isinstance(t.get("fibery/name"), str)
    ]
    deleted = {t["fibery/name"] for t in nodes if _deleted(t)}
    types: dict[str, FiberyType] = {}
    for node in nodes:
        if node["fibery/name"] in deleted:
            continue
        fields: dict[str, FiberyField] = {}
        raw_fields = node.get("fibery/fields")
        for item in raw_fields if isinstance(raw_fields, list) else []:
            if not isinstance(item, Mapping) or _deleted(item):
                continue
            name, kind = item.get("fibery/name"), item.get("fibery/type")
            if not isinstance(name, str) or not isinstance(kind, str) or kind in deleted:
                continue
            meta = item.get("fibery/meta")
            meta = dict(meta) if isinstance(meta, Mapping) else {}
            fields[name] = FiberyField(
                name=name, type=kind, collection=meta.get("fibery/collection?") is True, meta=meta
            )
        meta = node.get("fibery/meta")
        types[node["fibery/name"]] = FiberyType(
            name=node["fibery/name"],
            fields=fields,
            meta=dict(meta) if isinstance(meta, Mapping) else {},
        )
    return FiberySchema(types=types)


def _closest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return f"closest: {', '.join(close)}" if close else "no similar name"


def _path_text(path: str | list[str]) -> str:
    return path if isinstance(path, str) else "[" + ", ".join(path) + "]"


class _Checker:
    """Collects problems of the enrichment config against one schema, in a stable order."""

    def __init__(self, schema: FiberySchema) -> None:
        self.schema = schema
        self.problems: list[str] = []

    def field(self, holder: FiberyType, name: str, where: str) -> FiberyField | None:
        found = holder.fields.get(name)
        if found is None:
            self.problems.append(
                f"{CONFIG_FILE}: {where}: {holder.name} has no field {name!r}"
                f" ({_closest(name, holder.fields)})"
            )
        return found

    def path(self, entity_type: FiberyType, path: str | list[str], where: str) -> None:
        parts = [path] if isinstance(path, str) else list(path)
        if not parts:
            self.problems.append(f"{CONFIG_FILE}: {where}: the field path is empty")
            return
        holder = entity_type
        for index, part in enumerate(parts):
            found = self.field(holder, part, where)
            if found is None:
                return
            last = index == len(parts) - 1
            target = self.schema.get(found.type)
            if found.collection:
                self.problems.append(
                    f"{CONFIG_FILE}: {where}: {part} of {holder.name} is a collection, which a"
                    " field path cannot select or go through"
                )
                return
            if last:
                if not self.schema.is_primitive(found.type):
                    self.problems.append(self.relation_problem(where, holder, found, target))
                return
            if target is None or target.primitive:
                self.problems.append(
                    f"{CONFIG_FILE}: {where}: {part} of {holder.name} holds a {found.type} value,"
                    f" so the path cannot continue with {parts[index + 1]!r}"
                )
                return
            holder = target

    def relation_problem(
        self, where: str, holder: FiberyType, found: FiberyField, target: FiberyType | None
    ) -> str:
        prefix = f"{CONFIG_FILE}: {where}: {found.name} of {holder.name}"
        if found.type == DOCUMENT_TYPE:
            return f"{prefix} is rich text: only description_field can read it"
        title = target.title_field() if target is not None else None
        hint = f", e.g. [{found.name}, {title}]" if title else ""
        return f"{prefix} points at {found.type}: give a path to one of its fields{hint}"

    def enrichment(self, entity_type: FiberyType, config: EnrichmentType, key: str) -> None:
        """``key``: how the config names this entry (the type, or ``default`` for it)."""
        if config.name_field is not None:
            self.path(entity_type, config.name_field, f"{key} name_field")
        if config.description_field is not None:
            found = self.field(entity_type, config.description_field, f"{key} description_field")
            if found is not None and found.type != DOCUMENT_TYPE:
                self.problems.append(
                    f"{CONFIG_FILE}: {key} description_field: {found.name} is a {found.type}"
                    f" field, not rich text ({DOCUMENT_TYPE})"
                )
        for alias, path in config.fields.items():
            self.path(entity_type, path, f"{key} fields.{alias} = {_path_text(path)}")


def check_enrichment_config(
    schema: FiberySchema, enrichment_config: EnrichmentSettings, type_keys: Iterable[str] = ()
) -> None:
    """Every configured type exists, and every configured field path exists along its types.

    ``type_keys`` are the types a run will query: their effective configuration (their own
    entry or ``default``) is checked too. A queried type the workspace lacks is not a config
    problem — its entities are reported as ``error`` — so it is skipped here. Raises one
    ``ConfigError`` for the first problem (and says how many more there are).
    """
    checker = _Checker(schema)
    checked: list[tuple[FiberyType, EnrichmentType, str]] = []
    for key, config in enrichment_config.types.items():
        entity_type = schema.get(key)
        if entity_type is None:
            closest = schema.closest_types(key)
            near = f"closest: {', '.join(closest)}" if closest else "no similar name"
            checker.problems.append(
                f"{CONFIG_FILE}: Fibery has no database {key!r} ({near}): fix or remove that entry"
            )
        else:
            checked.append((entity_type, config, key))
    for key in dict.fromkeys(type_keys):
        entity_type = schema.get(key)
        if entity_type is not None and key not in enrichment_config.types:
            checked.append((entity_type, enrichment_config.default, f"default (for {key})"))
    for entity_type, config, label in checked:
        checker.enrichment(entity_type, config, label)
    if checker.problems:
        first, more = checker.problems[0], len(checker.problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise ConfigError(f"{first}{suffix}")
