"""A generic evaluator of Fibery ``fibery.entity/query`` over entity dicts, schema-checked.

Entities are dicts keyed by Fibery field names; relations and enums are nested dicts,
collections are lists of dicts. Supported:

- ``q/select`` as a dict ``{alias: selector}`` or a list of selectors, where a selector is a
  primitive field name (``"fibery/id"``), a path into relations/enums
  (``["workflow/state", "enum/name"]``; ``None`` where the relation is empty), a nested
  ``{"q/from": collection, "q/select": ..., "q/order-by": ..., "q/limit": n}`` or the
  aggregate ``["q/count", [collection, field]]``. In list form ``{field: [path...]}`` and
  ``{field: {"q/select": ...}}`` are the same with the field as key, and
  ``{alias: ["q/count", ...]}`` names an aggregate (Fibery's query guide);
- ``q/where``: ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``q/in``, ``q/not-in`` on a field
  path, combined with ``q/and`` / ``q/or``; ``"$name"`` values come from ``params``;
- ``q/order-by`` (``[[path, "q/asc"|"q/desc"], ...]``), ``q/offset``, ``q/limit``.

Every field named anywhere (selects, paths, sub-queries, filters, order) must exist on its
type in the schema, else the command fails with ``entity.error/schema-field-not-found`` and
the message public code records: ``"Space/Field" field was not found in "Space/Type"
database.``; an unknown type fails with ``entity.error/schema-type-not-found`` ("Space/Type
database was not found."). ``q/limit`` is required at the top level and at most 1000;
``"q/no-limit"`` is accepted there (supported but discouraged) and refused in sub-queries,
where Fibery has announced its deprecation. Selecting a relation, document or collection as
if it were a primitive field fails (``entity.error/query-primitive-field-expr-invalid``), as
does a path through a collection
(``entity.error/query-select-collection-field-vector-shape-invalid``) — these two names are
the sandbox's own, no source publishes them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Entity = Mapping[str, Any]
Predicate = Callable[[Entity], bool]

MAX_LIMIT = 1000
FIELD_NOT_FOUND = "entity.error/schema-field-not-found"
TYPE_NOT_FOUND = "entity.error/schema-type-not-found"
NO_LIMIT_IN_SUB_QUERY = "entity.error/query-sub-query-no-limit-unsupported"
COLLECTION_SHAPE = "entity.error/query-select-collection-field-vector-shape-invalid"
PRIMITIVE_EXPR = "entity.error/query-primitive-field-expr-invalid"

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class QueryError(Exception):
    """A command failure: ``name`` and ``message`` go into ``{"success": false, "result": ...}``."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message

    def result(self) -> dict[str, str]:
        return {"name": self.name, "message": self.message}


def _invalid(message: str) -> QueryError:
    return QueryError("entity.error/query-invalid", message)


@dataclass(frozen=True)
class FieldInfo:
    type: str
    collection: bool
    primitive: bool


Schema = Mapping[str, Mapping[str, FieldInfo]]
"""Type name → field name → what the field holds; deleted types and fields left out."""


def _deleted(node: Mapping[str, Any]) -> bool:
    meta = node.get("fibery/meta")
    return node.get("fibery/deleted?") is True or (
        isinstance(meta, Mapping) and meta.get("fibery/deleted?") is True
    )


def schema_index(types: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, FieldInfo]]:
    """The ``Schema`` of a ``fibery/types`` list (a schema query answer)."""
    live = [t for t in types if not _deleted(t)]
    primitive = {
        t["fibery/name"] for t in live if (t.get("fibery/meta") or {}).get("fibery/primitive?")
    }
    known = {t["fibery/name"] for t in live}
    index: dict[str, dict[str, FieldInfo]] = {}
    for item in live:
        fields: dict[str, FieldInfo] = {}
        for field in item.get("fibery/fields", []):
            if _deleted(field):
                continue
            kind = field["fibery/type"]
            meta = field.get("fibery/meta") or {}
            fields[field["fibery/name"]] = FieldInfo(
                kind,
                collection=meta.get("fibery/collection?") is True,
                primitive=kind in primitive or kind not in known,
            )
        index[item["fibery/name"]] = fields
    return index


def field_not_found(field: str, type_name: str) -> QueryError:
    return QueryError(FIELD_NOT_FOUND, f'"{field}" field was not found in "{type_name}" database.')


def run_entity_query(
    schema: Schema, collections: Mapping[str, Sequence[Entity]], args: Any
) -> list[dict[str, Any]]:
    """Evaluate the ``args`` of one ``fibery.entity/query`` command."""
    if not isinstance(args, Mapping) or not isinstance(args.get("query"), Mapping):
        raise _invalid("args.query must be an object")
    params = args.get("params") or {}
    if not isinstance(params, Mapping):
        raise _invalid("args.params must be an object")
    query = args["query"]
    type_name = query.get("q/from")
    if not isinstance(type_name, str):
        raise _invalid("q/from must be a type name")
    if type_name not in schema:
        raise QueryError(TYPE_NOT_FOUND, f"{type_name} database was not found.")
    evaluator = _Evaluator(schema, params)
    return evaluator.evaluate(collections.get(type_name, ()), query, type_name, top_level=True)


def _limit(value: Any, *, top_level: bool) -> int | None:
    if value == "q/no-limit":
        if top_level:
            return None
        raise QueryError(
            NO_LIMIT_IN_SUB_QUERY,
            '"q/no-limit" is not supported in sub-queries: give a number, e.g. 100',
        )
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _invalid("q/limit must be a non-negative integer")
    if top_level and value > MAX_LIMIT:
        raise _invalid(f"q/limit is at most {MAX_LIMIT}: page with q/offset or a cursor")
    return value


def _path(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(part, str) for part in value):
        return list(value)
    raise _invalid(f"not a field path: {value!r}")


def _walk(entity: Entity, path: Sequence[str]) -> Any:
    """The value at ``path`` (already checked against the schema); ``None`` past an empty link."""
    value: Any = entity
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _sort_key_of(path: list[str]) -> Callable[[Entity], tuple[bool, str]]:
    """Sort key of a field path: empty values last, the rest by their text."""

    def key(item: Entity) -> tuple[bool, str]:
        value = _walk(item, path)
        return (value is None, "" if value is None else str(value))

    return key


def _is_count(selector: Any) -> bool:
    return isinstance(selector, list) and len(selector) == 2 and selector[0] == "q/count"


class _Evaluator:
    """One query's evaluation; ``params`` apply to the query and its nested collections."""

    def __init__(self, schema: Schema, params: Mapping[str, Any]) -> None:
        self.schema = schema
        self.params = params

    def field(self, type_name: str, name: str) -> FieldInfo:
        info = self.schema.get(type_name, {}).get(name)
        if info is None:
            raise field_not_found(name, type_name)
        return info

    def resolve(self, type_name: str, path: Sequence[str]) -> FieldInfo:
        """The last field of ``path``; every step must exist and lead into a to-one relation."""
        current = type_name
        info = FieldInfo(type_name, collection=False, primitive=False)
        for index, part in enumerate(path):
            info = self.field(current, part)
            if index < len(path) - 1 and info.collection:
                raise QueryError(
                    COLLECTION_SHAPE,
                    f"{'.'.join(path[: index + 1])} is a collection: select it with a nested"
                    " q/select",
                )
            current = info.type
        return info

    def evaluate(
        self,
        items: Sequence[Entity],
        query: Mapping[str, Any],
        type_name: str,
        *,
        top_level: bool,
    ) -> list[dict[str, Any]]:
        if "q/select" not in query:
            raise _invalid("q/select is required")
        select = query["q/select"]
        self.check_select(select, type_name)
        if "q/limit" in query:
            limit = _limit(query["q/limit"], top_level=top_level)
        elif top_level:
            raise _invalid("q/limit is required")
        else:
            limit = None
        selected: list[Entity] = list(items)
        where = query.get("q/where")
        if where is not None:
            predicate = self.predicate(where, type_name)
            selected = [item for item in selected if predicate(item)]
        for path, descending in reversed(self.order(query.get("q/order-by"), type_name)):
            selected.sort(key=_sort_key_of(path), reverse=descending)
        offset = query.get("q/offset", 0)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise _invalid("q/offset must be a non-negative integer")
        window = selected[offset:] if limit is None else selected[offset : offset + limit]
        return [self.select(item, select, type_name) for item in window]

    def order(self, value: Any, type_name: str) -> list[tuple[list[str], bool]]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise _invalid("q/order-by must be a list of [field path, direction]")
        order: list[tuple[list[str], bool]] = []
        for item in value:
            if not (isinstance(item, list) and len(item) == 2 and item[1] in ("q/asc", "q/desc")):
                raise _invalid('q/order-by items are [field path, "q/asc" | "q/desc"]')
            path = _path(item[0])
            self.resolve(type_name, path)
            order.append((path, item[1] == "q/desc"))
        return order

    def predicate(self, expression: Any, type_name: str) -> Predicate:
        if not isinstance(expression, list) or not expression or not isinstance(expression[0], str):
            raise _invalid(f"q/where must be an operator expression, got {expression!r}")
        op, *operands = expression
        if op in ("q/and", "q/or"):
            parts = [self.predicate(operand, type_name) for operand in operands]
            if op == "q/and":
                return lambda item: all(part(item) for part in parts)
            return lambda item: any(part(item) for part in parts)
        compare = _COMPARISONS.get(op)
        if compare is None and op not in ("q/in", "q/not-in"):
            raise QueryError("entity.error/query-operator-unknown", f"unknown operator {op!r}")
        if len(operands) != 2:
            raise _invalid(f"{op} takes a field path and a value")
        path = _path(operands[0])
        self.resolve(type_name, path)
        value = self.value(operands[1])
        if compare is None:
            if not isinstance(value, list):
                raise _invalid(f"{op} needs a list parameter")
            members = {v for v in value if isinstance(v, str | int | float | bool)}
            inside = op == "q/in"
            return lambda item: (_walk(item, path) in members) == inside
        if op in ("=", "!="):
            return lambda item: compare(_walk(item, path), value)

        def ordered(item: Entity) -> bool:
            current = _walk(item, path)
            try:
                return current is not None and compare(current, value)
            except TypeError:
                return False

        return ordered

    def value(self, operand: Any) -> Any:
        if isinstance(operand, str) and operand.startswith("$"):
            if operand not in self.params:
                raise QueryError(
                    "entity.error/query-param-missing", f"no value for parameter {operand}"
                )
            return self.params[operand]
        return operand

    def selectors(self, select: Any) -> list[tuple[str, Any]]:
        """``(result key, selector)`` pairs of a map- or list-form ``q/select``."""
        if isinstance(select, Mapping):
            return list(select.items())
        if not isinstance(select, list):
            raise _invalid("q/select must be an object or a list")
        pairs: list[tuple[str, Any]] = []
        for item in select:
            if isinstance(item, str):
                pairs.append((item, item))
            elif isinstance(item, Mapping):
                for key, sub in item.items():
                    if isinstance(sub, Mapping):
                        pairs.append((key, {"q/from": key, **sub}))
                    elif _is_count(sub):
                        pairs.append((key, sub))
                    else:
                        pairs.append((key, [key, *_path(sub)]))
            else:
                raise _invalid(f"not a selector: {item!r}")
        return pairs

    def check_select(self, select: Any, type_name: str) -> None:
        """Fail before any row is read, also when there is no row to read."""
        for _, selector in self.selectors(select):
            self.check_selector(selector, type_name)

    def check_selector(self, selector: Any, type_name: str) -> None:
        if _is_count(selector):
            path = _path(selector[1])
            if len(path) != 2:
                raise _invalid("q/count takes [collection field, field of its items]")
            collection = self.field(type_name, path[0])
            if not collection.collection:
                raise _invalid(f"q/count needs a collection, {path[0]} is not one")
            self.field(collection.type, path[1])
        elif isinstance(selector, str | list):
            info = self.resolve(type_name, _path(selector))
            if info.collection:
                raise QueryError(
                    COLLECTION_SHAPE,
                    f"{'.'.join(_path(selector))} is a collection: select it with a nested"
                    " q/select",
                )
            if not info.primitive:
                raise QueryError(
                    PRIMITIVE_EXPR,
                    f"{'.'.join(_path(selector))} is not a primitive field: select a path into it",
                )
        elif isinstance(selector, Mapping) and isinstance(selector.get("q/from"), str):
            info = self.field(type_name, selector["q/from"])
            if info.primitive:
                raise QueryError(
                    PRIMITIVE_EXPR, f"{selector['q/from']} is a primitive field, not a collection"
                )
            if "q/select" not in selector:
                raise _invalid(f"{selector['q/from']}: a nested query needs q/select")
            self.check_select(selector["q/select"], info.type)
        else:
            raise _invalid(f"not a selector: {selector!r}")

    def select(self, entity: Entity, select: Any, type_name: str) -> dict[str, Any]:
        return {
            key: self.selector(entity, selector, type_name)
            for key, selector in self.selectors(select)
        }

    def selector(self, entity: Entity, selector: Any, type_name: str) -> Any:
        if _is_count(selector):
            items = entity.get(_path(selector[1])[0])
            return len(items) if isinstance(items, list) else 0
        if isinstance(selector, str | list):
            return _walk(entity, _path(selector))
        return self.collection(entity, selector, type_name)

    def collection(self, entity: Entity, query: Mapping[str, Any], type_name: str) -> Any:
        """A nested ``q/from`` over a collection (a list) or, leniently, a to-one relation."""
        field = query["q/from"]
        info = self.field(type_name, field)
        value = entity.get(field)
        if not info.collection:
            return None if value is None else self.select(value, query["q/select"], info.type)
        return self.evaluate(value or [], query, info.type, top_level=False)
