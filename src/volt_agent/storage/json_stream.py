"""Read a JSON document from a binary stream value by value, never the whole text at once.

``JsonReader`` walks objects and arrays itself and decodes each value it is asked for with
``json.JSONDecoder.raw_decode`` over a window of the text, reading more of the stream only
when a value runs past the window. So a reader of a large artifact holds one chunk of text
and what it keeps of the values, not the file's bytes plus its decoded text plus every
parsed item. The result is exactly what ``json.loads`` gives for the same values.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import IO, Any

CHUNK_CHARS = 1 << 20
_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


class JsonReader:
    """A cursor over a JSON text read from ``stream`` (UTF-8) in chunks.

    Containers are walked with ``begin_object``/``next_key`` and ``begin_array``/
    ``next_item``; any value (a container too) is decoded whole with ``value``. Malformed or
    truncated input raises ``ValueError`` naming the character offset.
    """

    def __init__(self, stream: IO[bytes], chunk_chars: int = CHUNK_CHARS) -> None:
        self._stream = stream
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._chunk = chunk_chars
        self._buf = ""
        self._pos = 0
        self._offset = 0
        """Characters dropped from the front of ``_buf`` so far (for messages)."""
        self._eof = False
        self._first: list[bool] = []

    def _more(self) -> None:
        """Read the next chunk (at least as long as what is buffered: linear overall)."""
        if self._pos:
            self._buf = self._buf[self._pos :]
            self._offset += self._pos
            self._pos = 0
        size = max(self._chunk, len(self._buf))
        data = self._stream.read(size)
        text = self._utf8.decode(data, final=not data)
        if not data:
            self._eof = True
        self._buf += text

    def _skip_space(self) -> None:
        while True:
            self._pos = _SPACE.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buf) or self._eof:
                return
            self._more()

    def _fail(self, what: str) -> ValueError:
        return ValueError(f"{what} at character {self._offset + self._pos}")

    def peek(self) -> str:
        """The next character that is not white space (``""`` at the end)."""
        self._skip_space()
        return self._buf[self._pos : self._pos + 1]

    def _expect(self, char: str) -> None:
        if self.peek() != char:
            raise self._fail(f"expected {char!r}")
        self._pos += 1

    def value(self) -> Any:
        """The next value, decoded whole."""
        self._skip_space()
        while True:
            try:
                value, end = _DECODER.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._eof:
                    raise ValueError(f"{exc.msg} at character {self._offset + exc.pos}") from None
                self._more()
                continue
            if end == len(self._buf) and not self._eof:  # a number may go on
                self._more()
                continue
            self._pos = end
            return value

    def begin_object(self) -> None:
        self._expect("{")
        self._first.append(True)

    def next_key(self) -> str | None:
        """The next member's key (its value is to be read next), or ``None`` after ``}``."""
        if self.peek() == "}":
            self._pos += 1
            self._first.pop()
            return None
        if not self._first[-1]:
            self._expect(",")
        self._first[-1] = False
        key = self.value()
        if not isinstance(key, str):
            raise self._fail("expected a member name")
        self._expect(":")
        return key

    def begin_array(self) -> None:
        self._expect("[")
        self._first.append(True)

    def next_item(self) -> bool:
        """Whether another item follows (read it next); False after ``]``."""
        if self.peek() == "]":
            self._pos += 1
            self._first.pop()
            return False
        if not self._first[-1]:
            self._expect(",")
        self._first[-1] = False
        return True

    def items(self) -> Iterator[Any]:
        """The items of the array that starts here, each decoded whole."""
        self.begin_array()
        while self.next_item():
            yield self.value()

    def end(self) -> None:
        """Only white space may follow the document."""
        if self.peek():
            raise self._fail("extra data")


def read_members(stream: IO[bytes], names: set[str]) -> dict[str, Any]:
    """The top-level object's members ``names`` (those present), reading only as far as the
    last of them: e.g. a run's workspace id without the entries that follow it."""
    reader = JsonReader(stream, chunk_chars=64 * 1024)
    found: dict[str, Any] = {}
    if reader.peek() != "{":
        return found
    reader.begin_object()
    while len(found) < len(names) and (key := reader.next_key()) is not None:
        value = reader.value()
        if key in names:
            found[key] = value
    return found
