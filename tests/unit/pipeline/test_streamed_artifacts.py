"""Large artifacts streamed instead of loaded whole (issue 12): ``open_list`` yields a file's
list item by item, the aggregate built from the streamed raw file is the one built from the
loaded model, and a streamed save writes the whole-model bytes or nothing."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import pytest

from tests.unit.pipeline.test_offload import enriched_of, raw_of
from volt_agent.config import ParsingSettings
from volt_agent.domain.aggregation import aggregate
from volt_agent.domain.models import RawTogglData, TimeEntry
from volt_agent.domain.parsing import DescriptionParser
from volt_agent.pipeline.activities import _aggregate_file
from volt_agent.pipeline.offload import (
    item_text,
    iter_dump,
    iter_dump_spooled,
    load_in_pieces,
    open_list,
    save_model,
)
from volt_agent.storage.atomic import StorageError
from volt_agent.storage.run_folder import RAW_TOGGL, RunFolder


async def test_open_list_gives_the_head_and_every_item(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "r")
    raw = raw_of(700)
    await save_model(folder, RAW_TOGGL, raw)
    with open_list(folder, RAW_TOGGL, RawTogglData, "entries") as (head, entries):
        assert head == raw.model_copy(update={"entries": []})
        streamed = list(entries)
    assert streamed == raw.entries
    assert all(isinstance(e, TimeEntry) for e in streamed)


async def test_the_aggregate_of_the_streamed_file_is_that_of_the_model(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "r")
    raw = raw_of(900, users=13)
    shuffled = raw.model_copy(update={"entries": random.Random(3).sample(raw.entries, 900)})
    await save_model(folder, RAW_TOGGL, shuffled)
    parser = DescriptionParser(ParsingSettings())
    expected = aggregate(raw.entries, raw.users, raw.start_date, raw.end_date, parser)
    assert _aggregate_file(folder, parser).model_dump_json() == expected.model_dump_json()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"entries": [], "workspace_id": 1}', "'entries' is not the last member"),
        ('{"entries": [{"id": "x"}]}', "valid integer"),
        ('{"entries": [{"id": 1, ', "character"),
        ("[]", "expected an object"),
    ],
)
def test_a_bad_streamed_file_says_which_and_why(tmp_path: Path, text: str, reason: str) -> None:
    folder = RunFolder(tmp_path, "r")
    head = '{"start_date": "2026-11-16", "end_date": "2026-11-16", "workspace_id": 1, '
    body = (
        text if text.startswith("[") else head + '"fetched_at": "2026-11-16T00:00:00Z", ' + text[1:]
    )
    folder.save_text(RAW_TOGGL, body)
    message = rf"raw_toggl_data\.json is not a valid RawTogglData: .*{reason}"
    with (
        pytest.raises(StorageError, match=message),
        open_list(folder, RAW_TOGGL, RawTogglData, "entries") as (_, entries),
    ):
        list(entries)


def test_a_streamed_save_is_all_or_nothing(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "r")
    enriched = enriched_of(raw_of(200))
    folder.save_text("enriched_data.json", "before\n")

    def broken() -> object:
        chunks = iter_dump(enriched, chunk=1000)
        yield next(chunks)
        raise RuntimeError("the worker was stopped half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        folder.save_stream("enriched_data.json", broken())  # type: ignore[arg-type]
    assert folder.read_bytes("enriched_data.json") == b"before\n"
    pieces = list(iter_dump(enriched, trailer="\n", chunk=1000))
    assert len(pieces) > 10
    assert b"".join(pieces) == (enriched.model_dump_json(indent=2) + "\n").encode()
    folder.save_stream("enriched_data.json", iter(pieces))
    assert load_in_pieces(folder, "enriched_data.json", type(enriched)) == enriched


@pytest.mark.parametrize("entries", [0, 1, 300])
def test_the_spooled_raw_file_is_the_models_bytes(entries: int) -> None:
    raw = raw_of(entries)
    head = raw.model_copy(update={"entries": []})
    with tempfile.TemporaryFile() as spool:
        spool.write(",\n".join(item_text(e) for e in raw.entries).encode())
        written = b"".join(iter_dump_spooled(head, "entries", spool, len(raw.entries)))
        assert written == (raw.model_dump_json(indent=2) + "\n").encode()
        with pytest.raises(ValueError, match="not its last member"):
            list(iter_dump_spooled(head, "users", spool, 1))
