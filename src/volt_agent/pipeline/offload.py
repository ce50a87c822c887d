"""Run-folder reads and writes of large artifacts off the worker's event loop (review M5).

Moving ``RunFolder.load``/``save`` into ``asyncio.to_thread`` alone is not enough:
pydantic-core holds the GIL for the whole ``model_dump_json``/``model_validate_json`` of a
file (about a second for 92k time entries), so the loop, its heartbeats and its polls would
still stall. Here a model is serialized and validated piece by piece (each item of a list of
models on its own) in a worker thread, so the GIL is handed back to the loop between pieces.
The bytes written are exactly ``model.model_dump_json(indent=2) + "\\n"``, as
``RunFolder.save`` writes them.

Neither direction holds the whole file (issue 12): a save streams the pieces to the storage
(``RunFolder.save_stream``: a temp file renamed, or one spooled PUT), a load reads the file
through ``storage.json_stream.JsonReader`` and validates each item of a list of models as
soon as it is decoded, so only the resulting model stays in memory.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from volt_agent.storage.atomic import StorageError
from volt_agent.storage.json_stream import JsonReader
from volt_agent.storage.run_folder import RunFolder

M = TypeVar("M", bound=BaseModel)
_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
WRITE_CHUNK = 256 * 1024


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
    """``folder.load(name, model)`` read, parsed and validated piece by piece (for threads)."""
    try:
        with folder.open_read(name) as stream:
            reader = JsonReader(stream)
            result = read_model(reader, model)
            reader.end()
            return result
    except (ValueError, ValidationError) as exc:
        raise invalid_artifact(folder, name, model, exc) from None


def _save(folder: RunFolder, name: str, model: BaseModel) -> str:
    return folder.save_stream(name, iter_dump(model, trailer="\n"))


def dump_in_pieces(model: BaseModel) -> bytes:
    """``model.model_dump_json(indent=2)`` encoded, built member by member and item by item."""
    return b"".join(iter_dump(model))


def iter_dump(model: BaseModel, *, trailer: str = "", chunk: int = WRITE_CHUNK) -> Iterator[bytes]:
    """``model.model_dump_json(indent=2) + trailer`` encoded, in chunks of about ``chunk``
    bytes, each built from members and list items rendered one by one."""
    pending: list[str] = []
    size = 0
    for piece in _pretty(model, ""):
        pending.append(piece)
        size += len(piece)
        if size >= chunk:
            yield "".join(pending).encode("utf-8")
            pending.clear()
            size = 0
    pending.append(trailer)
    yield "".join(pending).encode("utf-8")


ITEM_PAD = "    "
"""The indent of an item of a list member of the top-level object."""


def item_text(item: BaseModel) -> str:
    """An item of a top-level list member as ``iter_dump`` renders it, without separator."""
    return ITEM_PAD + _whole(item, ITEM_PAD)


def iter_dump_spooled(
    head: BaseModel, member: str, items: IO[bytes], count: int, *, trailer: str = "\n"
) -> Iterator[bytes]:
    """The bytes ``iter_dump`` gives for ``head`` with its top-level list ``member`` holding
    ``count`` items whose ``item_text`` renderings, joined by ``",\n"`` and encoded, are in
    the file ``items`` (read from its start, a chunk at a time). ``head`` has that member
    empty; the list itself is never in memory."""
    text = dump_in_pieces(head).decode("utf-8") + trailer
    empty = f"\n  {json.dumps(member, ensure_ascii=False)}: []"
    at = text.find(empty)  # a newline inside a JSON string is escaped: only structure matches
    if at < 0 or text[at + len(empty)] not in ",\n":
        raise ValueError(f"{type(head).__name__}.{member} is not an empty top-level list")
    if not count:
        yield text.encode("utf-8")
        return
    cut = at + len(empty) - len("[]")
    yield (text[:cut] + "[\n").encode("utf-8")
    yield from file_chunks(items)
    yield ("\n  ]" + text[cut + len("[]") :]).encode("utf-8")


def file_chunks(file: IO[bytes]) -> Iterator[bytes]:
    """A spooled file's bytes from its start, ``WRITE_CHUNK`` at a time."""
    file.seek(0)
    while chunk := file.read(WRITE_CHUNK):
        yield chunk


def _pretty(model: BaseModel, pad: str) -> Iterator[str]:
    inner = pad + "  "
    fields = type(model).model_fields
    first = True
    for name in [*fields, *type(model).model_computed_fields]:
        value = getattr(model, name)
        if name in fields and (isinstance(value, BaseModel) or _models(value)):
            yield ("{\n" if first else ",\n") + f"{inner}{json.dumps(name, ensure_ascii=False)}: "
            if isinstance(value, BaseModel):
                yield from _pretty(value, inner)
            else:
                yield "[\n"
                for index, item in enumerate(value):
                    yield (",\n" if index else "") + inner + "  " + _whole(item, inner + "  ")
                yield f"\n{inner}]"
        else:
            members = _plain_members(model, name, inner)
            if not members:
                continue
            yield ("{\n" if first else ",\n") + members
        first = False
    yield "{}" if first else f"\n{pad}}}"


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


def read_model(reader: JsonReader, model: type[M]) -> M:
    """The ``model`` at the reader's position: an object's members read one by one, each item
    of a list of models decoded and validated on its own, nested models walked the same way;
    the same result as ``validate_in_pieces(model, json.loads(text))``."""
    if reader.peek() != "{":
        return model.model_validate(reader.value())
    nested = _nested_fields(model)
    values: dict[str, Any] = {}
    reader.begin_object()
    while (key := reader.next_key()) is not None:
        values[key] = _member(reader, nested.get(key))
    return model.model_validate(values)


def _member(reader: JsonReader, nested: tuple[bool, type[BaseModel]] | None) -> Any:
    opening = reader.peek()
    if nested is not None and nested[0] and opening == "[":
        return [validate_in_pieces(nested[1], v) for v in reader.items()]
    if nested is not None and not nested[0] and opening == "{":
        return read_model(reader, nested[1])
    return reader.value()


@contextmanager
def open_list(
    folder: RunFolder, name: str, model: type[M], member: str
) -> Iterator[tuple[M, Iterator[Any]]]:
    """The file's ``model`` without its list ``member`` (left at its default), and an iterator
    over that list's items, each validated as it is read: the list is never held whole.

    ``member`` must be the object's last member (``save_model`` writes fields in their
    declared order, and the large list is declared last). The iterator must be used inside
    the ``with`` block; errors of the file become ``StorageError`` naming it.
    """
    nested = _nested_fields(model)
    if member not in nested or not nested[member][0]:
        raise TypeError(f"{model.__name__}.{member} is not a list of models")
    item_model = nested[member][1]
    with folder.open_read(name) as stream:
        reader = JsonReader(stream)
        values: dict[str, Any] = {}
        found = False
        try:
            if reader.peek() != "{":
                raise ValueError("expected an object at character 0")
            reader.begin_object()
            while (key := reader.next_key()) is not None:
                if key == member and reader.peek() == "[":
                    found = True
                    break
                values[key] = _member(reader, nested.get(key))
            head = model.model_validate(values)
        except (ValueError, ValidationError) as exc:
            raise invalid_artifact(folder, name, model, exc) from None

        def items() -> Iterator[Any]:
            if not found:
                return
            try:
                reader.begin_array()
                while reader.next_item():
                    yield validate_in_pieces(item_model, reader.value())
                if reader.next_key() is not None:
                    raise ValueError(f"{member!r} is not the last member")
                reader.end()
            except (ValueError, ValidationError) as exc:
                raise invalid_artifact(folder, name, model, exc) from None

        yield head, items()


def invalid_artifact(
    folder: RunFolder, name: str, model: type[BaseModel], exc: ValueError | ValidationError
) -> StorageError:
    """The one-line error of a run-folder file that is not the ``model`` it should hold."""
    reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
    return StorageError(f"{folder.location(name)} is not a valid {model.__name__}: {reason}")


def validate_in_pieces(model: type[M], data: Any) -> M:
    """``model.model_validate(data)`` with every list of models validated item by item."""
    nested = _nested_fields(model)
    if not nested or not isinstance(data, dict):
        return model.model_validate(data)
    values = dict(data)
    for key, (is_list, target) in nested.items():
        value = values.get(key)
        if is_list and isinstance(value, list):
            values[key] = [validate_in_pieces(target, v) for v in value]
        elif not is_list and isinstance(value, dict):
            values[key] = validate_in_pieces(target, value)
    return model.model_validate(values)


@functools.cache
def _nested_fields(model: type[BaseModel]) -> dict[str, tuple[bool, type[BaseModel]]]:
    """The model's fields (by JSON key) that hold a model or a list of models:
    ``(is_list, item model)``; looked up once per model class."""
    nested: dict[str, tuple[bool, type[BaseModel]]] = {}
    for name, field in model.model_fields.items():
        target = field.annotation
        item = _list_item_model(target)
        if item is not None:
            nested[field.alias or name] = (True, item)
        elif _is_model(target):
            nested[field.alias or name] = (False, target)  # type: ignore[assignment]
    return nested


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
