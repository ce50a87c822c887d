"""Streamed writes and reads of run-folder files (issue 12): the same bytes and values as the
whole-file path, all-or-nothing writes, and a JSON reader that never needs the whole text."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from volt_agent.storage.atomic import ArtifactNotFoundError
from volt_agent.storage.json_stream import JsonReader, read_members
from volt_agent.storage.run_folder import RunFolder

DOCUMENT = {
    "schema_version": 1,
    "workspace_id": 7,
    "name": 'Zoë 🎉 "quoted" \\ back',
    "entries": [{"id": i, "d": "é" * (i % 7), "n": 12345678901234567890 + i} for i in range(300)],
    "nested": {"a": [1.5, None, True, False, [], {}], "b": {"c": "x"}},
    "empty": [],
}


def chunks_of(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def failing(data: bytes) -> Iterator[bytes]:
    yield data[:10]
    raise ValueError("the serializer broke half-way")


def test_a_streamed_write_has_the_bytes_of_a_whole_write(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "run-1")
    data = json.dumps(DOCUMENT, indent=2, ensure_ascii=False).encode()
    where = folder.save_stream("enriched_data.json", chunks_of(data, 333))
    folder.save_bytes("whole.json", data)
    assert where == str(tmp_path / "run-1" / "enriched_data.json")
    assert folder.read_bytes("enriched_data.json") == folder.read_bytes("whole.json") == data


def test_a_failed_streamed_write_leaves_the_previous_file_whole(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "run-1")
    folder.save_text("toggl_aggregated.json", '{"before": true}\n')
    with pytest.raises(ValueError, match="half-way"):
        folder.save_stream("toggl_aggregated.json", failing(b'{"after": "not whole"}'))
    assert folder.read_bytes("toggl_aggregated.json") == b'{"before": true}\n'
    assert sorted(p.name for p in (tmp_path / "run-1").iterdir()) == ["toggl_aggregated.json"]


def test_open_read_streams_the_file_and_names_a_missing_one(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "run-1")
    folder.save_bytes("a.json", b"[1, 2]")
    with folder.open_read("a.json") as stream:
        assert stream.read() == b"[1, 2]"
    with pytest.raises(ArtifactNotFoundError, match=r"b\.json does not exist"):
        folder.open_read("b.json")


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 1 << 20])
def test_the_reader_gives_what_json_loads_gives_whatever_the_chunk(chunk: int) -> None:
    text = json.dumps(DOCUMENT, indent=2, ensure_ascii=False)
    reader = JsonReader(io.BytesIO(text.encode()), chunk_chars=chunk)
    assert reader.value() == json.loads(text)
    reader.end()


def test_the_reader_walks_members_and_items_one_by_one() -> None:
    text = json.dumps(DOCUMENT, ensure_ascii=False).encode()
    reader = JsonReader(io.BytesIO(text), chunk_chars=5)
    reader.begin_object()
    seen: dict[str, object] = {}
    while (key := reader.next_key()) is not None:
        seen[key] = list(reader.items()) if reader.peek() == "[" else reader.value()
    reader.end()
    assert seen == DOCUMENT


@pytest.mark.parametrize(
    "text", ['{"a": 1,}', '{"a" 1}', "[1 2]", "{} x", '{"a": [1, 2}', '{"a": ']
)
def test_bad_or_truncated_json_is_refused(text: str) -> None:
    def read_all() -> None:
        reader = JsonReader(io.BytesIO(text.encode()), chunk_chars=3)
        reader.value()
        reader.end()

    with pytest.raises(ValueError, match="character"):
        read_all()


def test_a_number_cut_by_a_chunk_is_read_whole() -> None:
    reader = JsonReader(io.BytesIO(b"[123456789, 5]"), chunk_chars=4)
    assert list(reader.items()) == [123456789, 5]


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.read_bytes += len(data)
        return data


def test_read_members_stops_after_the_last_wanted_member() -> None:
    head = b'{"schema_version": 1, "workspace_id": 7, "entries": ['
    data = head + b", ".join(b'{"id": %d}' % i for i in range(100_000)) + b"]}"
    stream = CountingStream(data)
    assert read_members(stream, {"workspace_id"}) == {"workspace_id": 7}
    assert stream.read_bytes < 100_000 < len(data)
    assert read_members(io.BytesIO(b"[1]"), {"workspace_id"}) == {}
