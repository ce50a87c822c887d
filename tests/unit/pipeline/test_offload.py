"""Large run-folder artifacts are written and read off the event loop (review M5)."""

from __future__ import annotations

import asyncio
import gc
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from volt_agent.config import ParsingSettings
from volt_agent.domain.aggregation import aggregate
from volt_agent.domain.models import (
    Comment,
    EnrichedData,
    EnrichedEntity,
    FetchStatistics,
    RawTogglData,
    TimeEntry,
    TogglAggregated,
    TogglUser,
)
from volt_agent.domain.parsing import DescriptionParser
from volt_agent.pipeline.offload import dump_in_pieces, load_model, parse_in_pieces, save_model
from volt_agent.storage.atomic import StorageError
from volt_agent.storage.run_folder import RunFolder

START = datetime(2026, 11, 16, 8, tzinfo=UTC)


def raw_of(entries: int, users: int = 50) -> RawTogglData:
    people = [
        TogglUser(id=u, email=f"p{u}@example.com", name=f"Person {u} Ünïcødé", timezone="UTC")
        for u in range(users)
    ]
    rows = [
        TimeEntry(
            id=i,
            user_id=i % users,
            user_name=f"Person {i % users}",
            description=f'Fix #{i % 997} [Scrum] [Task] [Core] "quoted" 🎉',
            start=START + timedelta(minutes=i % 9000),
            stop=START + timedelta(minutes=i % 9000 + 30),
            seconds=1800,
            tag_ids=[1, 2],
        )
        for i in range(entries)
    ]
    return RawTogglData(
        start_date=date(2026, 11, 16),
        end_date=date(2026, 11, 22),
        workspace_id=7,
        users=people,
        fetched_at=START,
        statistics=FetchStatistics(rows_received=entries, entries_kept=entries),
        entries=rows,
    )


def enriched_of(raw: RawTogglData) -> EnrichedData:
    aggregated = aggregate(
        raw.entries, raw.users, raw.start_date, raw.end_date, DescriptionParser(ParsingSettings())
    )
    entities = [
        EnrichedEntity(
            type_key="Scrum/Task",
            public_id=str(i),
            status="found",
            name=f"Task {i}",
            comments=[Comment(author="Ann", text="line\nbreak", created=START)],
            fields={"estimate": 3, "nested": {"a": [1, None]}},
        )
        for i in range(40)
    ]
    entities.append(EnrichedEntity(type_key="x", public_id="1", status="error", error="e"))
    return EnrichedData(aggregated=aggregated, entities=entities, statistics={"by_type": {}})


@pytest.mark.parametrize(
    "text", ['{"a": [1, {"b": [2, 3]}], "c": {"d": {"e": []}}, "f": {}}', "[]", " 7 ", '"x"']
)
def test_the_parse_is_json_loads(text: str) -> None:
    assert parse_in_pieces(text) == json.loads(text)


@pytest.mark.parametrize("text", ['{"a": 1,}', '{"a" 1}', "[1 2]", "{} x", '{"a": [1, 2}'])
def test_bad_json_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"character|Expecting|Extra data"):
        parse_in_pieces(text)


@pytest.mark.parametrize("entries", [0, 1, 500])
def test_the_bytes_are_those_of_model_dump_json(entries: int) -> None:
    raw = raw_of(entries)
    enriched = enriched_of(raw)
    for model in (
        raw,
        enriched.aggregated,
        enriched,
        TogglAggregated(start_date=START.date(), end_date=START.date()),
    ):
        assert dump_in_pieces(model) == model.model_dump_json(indent=2).encode()


async def test_save_and_load_round_trip(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "r")
    enriched = enriched_of(raw_of(300))
    await save_model(folder, "enriched_data.json", enriched)
    assert (
        folder.read_bytes("enriched_data.json")
        == (enriched.model_dump_json(indent=2) + "\n").encode()
    )
    assert await load_model(folder, "enriched_data.json", EnrichedData) == enriched
    assert folder.load("enriched_data.json", EnrichedData) == enriched


async def test_a_bad_file_says_which_and_why(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "r")
    folder.save_text("raw_toggl_data.json", '{"entries": [{"id": "x"}]}')
    with pytest.raises(StorageError, match=r"raw_toggl_data\.json is not a valid RawTogglData"):
        await load_model(folder, "raw_toggl_data.json", RawTogglData)
    folder.save_text("raw_toggl_data.json", "{not json")
    with pytest.raises(StorageError, match="is not a valid RawTogglData"):
        await load_model(folder, "raw_toggl_data.json", RawTogglData)


async def ticks_while(work: asyncio.Future[object] | asyncio.Task[object]) -> int:
    """How many 10 ms ticks the loop ran while ``work`` ran.

    Counting ticks, not timing them: a save or load that held the loop for its whole length
    leaves one or two ticks, one that hands the loop back between pieces leaves many. How late
    each tick is depends on the machine's load and belongs to the benchmark, not to a test.
    """
    ticks = 0
    while not work.done():
        await asyncio.sleep(0.01)
        ticks += 1
    await work
    return ticks


async def test_the_loop_keeps_ticking_while_a_large_artifact_is_saved_and_loaded(
    tmp_path: Path,
) -> None:
    """92k entries (the org benchmark's size, 35 MB): on the loop, its ``model_dump_json``
    alone blocks for 0.5-1 s and its load for several seconds on this 2-core machine; in
    pieces in a thread the loop keeps running between the pieces."""
    folder = RunFolder(tmp_path, "r")
    raw = raw_of(92_000, users=500)
    assert await ticks_while(asyncio.ensure_future(save_model(folder, "raw.json", raw))) >= 10
    del raw
    gc.collect()
    loading = asyncio.ensure_future(load_model(folder, "raw.json", RawTogglData))
    assert await ticks_while(loading) >= 10
