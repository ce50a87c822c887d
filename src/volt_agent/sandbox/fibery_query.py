"""A generic evaluator of Fibery ``fibery.entity/query`` over entity dicts.

Entities are dicts keyed by Fibery field names; relations and enums are nested dicts,
collections are lists of dicts. Supported:

- ``q/select`` as a dict ``{alias: selector}`` or a list of selectors, where a selector is a
  primitive field name (``"fibery/id"``), a path into relations/enums
  (``["workflow/state", "enum/name"]``; ``None`` where the relation is empty), or a nested
  ``{"q/from": collection, "q/select": ..., "q/limit": n | "q/no-limit"}``. In list form
  ``{field: [path...]}`` and ``{field: {"q/select": ...}}`` are the same with the field as key;
- ``q/where``: ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``q/in``, ``q/not-in`` on a field
  path, combined with ``q/and`` / ``q/or``; ``"$name"`` values come from ``params``;
- ``q/order-by`` (``[[path, "q/asc"|"q/desc"], ...]``), ``q/offset``, ``q/limit``.

Like Fibery, selecting a relation, document or collection as if it were a primitive field
fails (``entity.error/query-primitive-field-expr-invalid``), as does a path through a
collection (``entity.error/query-select-collection-field-vector-shape-invalid``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Entity = Mapping[str, Any]
Predicate = Callable[[Entity], bool]

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


def run_entity_query(
    collections: Mapping[str, Sequence[Entity]], args: Any
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
    if type_name not in collections:
        raise QueryError(
            "entity.error/schema-type-not-found", f'Type "{type_name}" was not found in schema'
        )
    return _Evaluator(params).evaluate(collections[type_name], query)


def _limit(value: Any) -> int | None:
    if value == "q/no-limit":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _invalid('q/limit must be a non-negative integer or "q/no-limit"')
    return value


def _order(value: Any) -> list[tuple[list[str], bool]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _invalid("q/order-by must be a list of [field path, direction]")
    order: list[tuple[list[str], bool]] = []
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and item[1] in ("q/asc", "q/desc")):
            raise _invalid('q/order-by items are [field path, "q/asc" | "q/desc"]')
        order.append((_path(item[0]), item[1] == "q/desc"))
    return order


def _sort_key_of(path: list[str]) -> Callable[[Entity], tuple[bool, str]]:
    """Sort key of a field path: empty values last, the rest by their text."""

    def key(item: Entity) -> tuple[bool, str]:
        value = _walk(item, path)
        return (value is None, "" if value is None else str(value))

    return key


def _path(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(part, str) for part in value):
        return list(value)
    raise _invalid(f"not a field path: {value!r}")


def _walk(entity: Entity, path: Sequence[str]) -> Any:
    """The value at ``path``; ``None`` where a relation on the way is empty."""
    value: Any = entity
    for index, part in enumerate(path):
        if value is None:
            return None
        if isinstance(value, list):
            raise QueryError(
                "entity.error/query-select-collection-field-vector-shape-invalid",
                f"{'.'.join(path[:index])} is a collection: select it with a nested q/select",
            )
        if not isinstance(value, Mapping):
            raise _invalid(f"{'.'.join(path[:index])} is a primitive field, it has no {part}")
        value = value.get(part)
    return value


def _primitive(entity: Entity, path: list[str]) -> Any:
    value = _walk(entity, path)
    if isinstance(value, list):
        raise QueryError(
            "entity.error/query-select-collection-field-vector-shape-invalid",
            f"{'.'.join(path)} is a collection: select it with a nested q/select",
        )
    if isinstance(value, Mapping):
        raise QueryError(
            "entity.error/query-primitive-field-expr-invalid",
            f"{'.'.join(path)} is not a primitive field: select a path into it",
        )
    return value


class _Evaluator:
    """One query's evaluation; ``params`` apply to the query and its nested collections."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = params

    def evaluate(self, items: Sequence[Entity], query: Mapping[str, Any]) -> list[dict[str, Any]]:
        if "q/select" not in query:
            raise _invalid("q/select is required")
        selected: list[Entity] = list(items)
        where = query.get("q/where")
        if where is not None:
            predicate = self.predicate(where)
            selected = [item for item in selected if predicate(item)]
        for path, descending in reversed(_order(query.get("q/order-by"))):
            selected.sort(key=_sort_key_of(path), reverse=descending)
        offset = query.get("q/offset", 0)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise _invalid("q/offset must be a non-negative integer")
        limit = _limit(query.get("q/limit", "q/no-limit"))
        window = selected[offset:] if limit is None else selected[offset : offset + limit]
        return [self.select(item, query["q/select"]) for item in window]

    def predicate(self, expression: Any) -> Predicate:
        if not isinstance(expression, list) or not expression or not isinstance(expression[0], str):
            raise _invalid(f"q/where must be an operator expression, got {expression!r}")
        op, *operands = expression
        if op in ("q/and", "q/or"):
            parts = [self.predicate(operand) for operand in operands]
            if op == "q/and":
                return lambda item: all(part(item) for part in parts)
            return lambda item: any(part(item) for part in parts)
        if len(operands) != 2:
            raise _invalid(f"{op} takes a field path and a value")
        path = _path(operands[0])
        value = self.value(operands[1])
        if op in ("q/in", "q/not-in"):
            if not isinstance(value, list):
                raise _invalid(f"{op} needs a list parameter")
            members = {v for v in value if isinstance(v, str | int | float | bool)}
            inside = op == "q/in"
            return lambda item: (_walk(item, path) in members) == inside
        compare = _COMPARISONS.get(op)
        if compare is None:
            raise QueryError("entity.error/query-operator-unknown", f"unknown operator {op!r}")
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

    def select(self, entity: Entity, select: Any) -> dict[str, Any]:
        if isinstance(select, Mapping):
            return {alias: self.selector(entity, selector) for alias, selector in select.items()}
        if not isinstance(select, list):
            raise _invalid("q/select must be an object or a list")
        result: dict[str, Any] = {}
        for item in select:
            if isinstance(item, str):
                result[item] = _primitive(entity, [item])
            elif isinstance(item, Mapping):
                for field, sub in item.items():
                    if isinstance(sub, Mapping):
                        result[field] = self.collection(entity, {"q/from": field, **sub})
                    else:
                        result[field] = _primitive(entity, [field, *_path(sub)])
            else:
                raise _invalid(f"not a selector: {item!r}")
        return result

    def selector(self, entity: Entity, selector: Any) -> Any:
        if isinstance(selector, str | list):
            return _primitive(entity, _path(selector))
        if isinstance(selector, Mapping) and isinstance(selector.get("q/from"), str):
            return self.collection(entity, selector)
        raise _invalid(f"not a selector: {selector!r}")

    def collection(self, entity: Entity, query: Mapping[str, Any]) -> Any:
        """A nested ``q/from`` over a collection (a list) or, leniently, a single relation."""
        field = query["q/from"]
        value = entity.get(field)
        if value is None:
            return []
        if isinstance(value, Mapping):
            if "q/select" not in query:
                raise _invalid(f"{field}: a nested query needs q/select")
            return self.select(value, query["q/select"])
        if not isinstance(value, list):
            raise QueryError(
                "entity.error/query-primitive-field-expr-invalid",
                f"{field} is a primitive field, not a collection",
            )
        return self.evaluate(value, query)
