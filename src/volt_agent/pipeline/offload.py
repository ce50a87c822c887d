"""Run-folder reads and writes of large artifacts off the worker's event loop (review M5).

Moving ``RunFolder.load``/``save`` into ``asyncio.to_thread`` alone is not enough:
pydantic-core holds the GIL for the whole ``model_dump_json``/``model_validate_json`` of a
file (about a second for 92k time entries), so the loop, its heartbeats and its polls would
still stall. Here a model is serialized and validated piece by piece (each item of a list of
models on its own) in a worker thread, so the GIL is handed back to the loop between pieces.
The bytes written are exactly ``model.model_dump_json(indent=2) + "\\n"``, as
``RunFolder.save`` writes them.
"""

from __future__ import annotations

import asyncio
import json
import re
import types
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from volt_agent.storage.atomic import StorageError
from volt_agent.storage.run_folder import RunFolder

M = TypeVar("M", bound=BaseModel)
_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


async def load_model(folder: RunFolder, name: str, model: type[M]) -> M:
    """``folder.load(name, model)`` in a thread, validated piece by piece."""
    return await asyncio.to_thread(load_in_pieces, folder, name, model)


async def save_model(folder: RunFolder, name: str, model: BaseModel) -> str:
    """``folder.save(name, model)`` (the same bytes) in a thread, serialized piece by piece."""
    return await asyncio.to_thread(_save, folder, name, model)


async def save_text(folder: RunFolder, name: str, text: str) -> str:
    """``folder.save_text`` in a thread (the write and its fsync)."""
    return await asyncio.to_thread(folder.save_text, name, text)


def load_in_pieces(folder: RunFolder, name: str, model: type[M]) -> M:
    """``folder.load(name, model)`` parsed and validated piece by piece (for threads)."""
    data = folder.read_bytes(name)
    try:
        return validate_in_pieces(model, parse_in_pieces(data.decode("utf-8")))
    except (ValueError, ValidationError) as exc:
        reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise StorageError(
            f"{folder.location(name)} is not a valid {model.__name__}: {reason}"
        ) from None


def _save(folder: RunFolder, name: str, model: BaseModel) -> str:
    return folder.save_bytes(name, dump_in_pieces(model) + b"\n")


def dump_in_pieces(model: BaseModel) -> bytes:
    """``model.model_dump_json(indent=2)`` encoded, built member by member and item by item.

    No step copies the whole text at once but the last ``bytes()``: joining tens of MB in
    one call also holds the GIL long enough to stall the loop."""
    pieces: list[str] = []
    _pretty(model, "", pieces)
    out = bytearray()
    for piece in pieces:
        out += piece.encode("utf-8")
    return bytes(out)


def _pretty(model: BaseModel, pad: str, out: list[str]) -> None:
    inner = pad + "  "
    fields = type(model).model_fields
    first = True
    for name in [*fields, *type(model).model_computed_fields]:
        value = getattr(model, name)
        if name in fields and (isinstance(value, BaseModel) or _models(value)):
            out.append(
                ("{\n" if first else ",\n") + f"{inner}{json.dumps(name, ensure_ascii=False)}: "
            )
            if isinstance(value, BaseModel):
                _pretty(value, inner, out)
            else:
                out.append("[\n")
                for index, item in enumerate(value):
                    out.append((",\n" if index else "") + inner + "  " + _whole(item, inner + "  "))
                out.append(f"\n{inner}]")
        else:
            members = _plain_members(model, name, inner)
            if not members:
                continue
            out.append(("{\n" if first else ",\n") + members)
        first = False
    out.append("{}" if first else f"\n{pad}}}")


def _models(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, BaseModel) for v in value)


def _whole(model: BaseModel, pad: str) -> str:
    return model.model_dump_json(indent=2).replace("\n", "\n" + pad)


def _plain_members(model: BaseModel, name: str, pad: str) -> str:
    """The member ``name`` as the model's own pretty JSON renders it, indented for ``pad``
    (empty when the model leaves it out)."""
    lines = model.model_dump_json(indent=2, include={name}).split("\n")[1:-1]
    return pad + "\n".join(lines)[2:].replace("\n  ", "\n" + pad) if lines else ""


def parse_in_pieces(text: str) -> Any:
    """``json.loads(text)``, the outer objects and arrays walked here and each array item
    decoded on its own (one ``json.loads`` of tens of MB holds the GIL for a second)."""
    value, end = _parse(text, 0, depth=2)
    if _SPACE.match(text, end).end() != len(text):  # type: ignore[union-attr]
        raise ValueError(f"extra data at character {end}")
    return value


def _skip(text: str, index: int) -> int:
    return _SPACE.match(text, index).end()  # type: ignore[union-attr]


def _parse(text: str, index: int, depth: int) -> tuple[Any, int]:
    index = _skip(text, index)
    opening = text[index : index + 1]
    if depth < 0 or opening not in ("{", "[") or (opening == "{" and depth == 0):
        return _DECODER.raw_decode(text, index)
    closing = "}" if opening == "{" else "]"
    members: dict[str, Any] = {}
    items: list[Any] = []
    index = _skip(text, index + 1)
    if text.startswith(closing, index):
        return (members if opening == "{" else items), index + 1
    while True:
        if opening == "{":
            key, index = _DECODER.raw_decode(text, index)
            index = _skip(text, index)
            if not isinstance(key, str) or not text.startswith(":", index):
                raise ValueError(f"expected a key and ':' at character {index}")
            members[key], index = _parse(text, index + 1, depth - 1)
        else:
            value, index = _DECODER.raw_decode(text, _skip(text, index))
            items.append(value)
        index = _skip(text, index)
        if text.startswith(closing, index):
            return (members if opening == "{" else items), index + 1
        if not text.startswith(",", index):
            raise ValueError(f"expected ',' or '{closing}' at character {index}")
        index = _skip(text, index + 1)


def validate_in_pieces(model: type[M], data: Any) -> M:
    """``model.model_validate(data)`` with every list of models validated item by item."""
    if not isinstance(data, dict):
        return model.model_validate(data)
    values = dict(data)
    for name, field in model.model_fields.items():
        key = field.alias or name
        value = values.get(key)
        target = field.annotation
        item = _list_item_model(target)
        if item is not None and isinstance(value, list):
            values[key] = [validate_in_pieces(item, v) for v in value]
        elif _is_model(target) and isinstance(value, dict):
            values[key] = validate_in_pieces(target, value)  # type: ignore[arg-type]
    return model.model_validate(values)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _list_item_model(annotation: Any) -> type[BaseModel] | None:
    if get_origin(annotation) in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        annotation = inner[0] if len(inner) == 1 else None
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        if _is_model(item):
            return item  # type: ignore[no-any-return]
    return None
