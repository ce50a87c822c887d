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
from volt_agent.domain.aggregation import Aggregation, aggregate
from volt_agent.domain.models import RawTogglData, TimeEntry
from volt_agent.domain.parsing import DescriptionParser
from volt_agent.domain.rounding import RoundingPolicy, round_aggregate
from volt_agent.pipeline.aggregate_step import FetchedEntries, aggregate_run, toggl_view
from volt_agent.pipeline.enriched_file import enriched_chunks
from volt_agent.pipeline.offload import (
    item_text,
    iter_dump,
    iter_dump_spooled,
    load_in_pieces,
    open_list,
    save_model,
)
from volt_agent.pipeline.packed_entities import PackedEntities
from volt_agent.pipeline.person_slices import slices_from_file
from volt_agent.pipeline.team_pass import team_pass
from volt_agent.reporting.digest import slim_user, team_digest
from volt_agent.reporting.exports import ENTRIES_CSV, entries_csv
from volt_agent.reporting.insights import InsightSettings
from volt_agent.reporting.views import day_totals
from volt_agent.reporting.writer import TemplateReportWriter
from volt_agent.storage.atomic import StorageError
from volt_agent.storage.run_folder import RAW_TOGGL, TOGGL_AGGREGATED, RunFolder


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
    people, view = aggregate_run(folder, parser, RoundingPolicy("none"))
    written = folder.read_bytes(TOGGL_AGGREGATED)
    assert written == (expected.model_dump_json(indent=2) + "\n").encode()
    assert [people.person(u.user_id) for u in people.head.users] == expected.users
    assert people.head.users == [slim_user(u) for u in expected.users]
    assert people.head.statistics == expected.statistics
    assert view.days == tuple(day_totals(expected.users))
    read_back = slices_from_file(folder)  # a worker that did not aggregate the run
    assert read_back.head == people.head
    assert list(read_back.people()) == expected.users


async def test_the_fetchs_aggregation_makes_what_the_file_makes(tmp_path: Path) -> None:
    """The fetch on the aggregating worker hands over the aggregation it fed as it spooled
    the entries: the same artifact, people and view as the file read back, which the
    aggregate step then never opens."""
    parser = DescriptionParser(ParsingSettings())
    raw = raw_of(800, users=11)
    from_file = RunFolder(tmp_path / "file", "r")
    await save_model(from_file, RAW_TOGGL, raw)
    expected_people, expected_view = aggregate_run(from_file, parser, RoundingPolicy("none"))
    fed = Aggregation(raw.users, parser, default_timezone=raw.default_timezone)
    for entry in raw.entries:
        fed.add(entry)
    fetched = FetchedEntries(raw.model_copy(update={"entries": []}), fed)
    handed = RunFolder(tmp_path / "handed", "r")  # no raw file: reading it would fail
    people, view = aggregate_run(handed, parser, RoundingPolicy("none"), fetched)
    assert handed.read_bytes(TOGGL_AGGREGATED) == from_file.read_bytes(TOGGL_AGGREGATED)
    assert people.head == expected_people.head
    assert list(people.people()) == list(expected_people.people())
    assert view == expected_view


async def test_the_toggl_view_is_rounded_person_by_person(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "r")
    raw = raw_of(300, users=7)
    raw = raw.model_copy(
        update={"entries": [e.model_copy(update={"seconds": 7 * 60}) for e in raw.entries]}
    )
    await save_model(folder, RAW_TOGGL, raw)
    parser = DescriptionParser(ParsingSettings())
    policy = RoundingPolicy("up", 15)
    expected = round_aggregate(
        aggregate(raw.entries, raw.users, raw.start_date, raw.end_date, parser), policy
    )
    people, view = aggregate_run(folder, parser, policy)
    assert view.aggregated.statistics == expected.statistics
    assert view.aggregated.users == [slim_user(u) for u in expected.users]
    assert view.days == tuple(day_totals(expected.users))
    assert people.head.statistics.total_seconds == 300 * 7 * 60  # the file stays raw


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
        with pytest.raises(ValueError, match="not an empty top-level list"):
            list(iter_dump_spooled(head, "users", spool, 1))  # it holds the users


@pytest.mark.parametrize("people", [0, 1, 3])
def test_a_spooled_list_in_the_middle_of_the_model_gives_its_bytes(people: int) -> None:
    aggregated = enriched_of(raw_of(40 * people, users=people or 1)).aggregated
    assert len(aggregated.users) == people
    head = aggregated.model_copy(update={"users": []})
    with tempfile.TemporaryFile() as spool:
        spool.write(",\n".join(item_text(u) for u in aggregated.users).encode())
        written = b"".join(iter_dump_spooled(head, "users", spool, len(aggregated.users)))
    assert written == (aggregated.model_dump_json(indent=2) + "\n").encode()


@pytest.mark.parametrize(("entries", "entities"), [(0, 0), (1, 1), (600, 41)])
def test_enriched_data_copies_the_aggregate_file_in_and_gives_the_models_bytes(
    tmp_path: Path, entries: int, entities: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("volt_agent.pipeline.enriched_file.WRITE_CHUNK", 97)  # many chunks
    enriched = enriched_of(raw_of(entries))
    enriched = enriched.model_copy(update={"entities": enriched.entities[:entities]})
    folder = RunFolder(tmp_path, "r")
    folder.save(TOGGL_AGGREGATED, enriched.aggregated)
    head = enriched.aggregated.model_copy(update={"users": []})
    texts = PackedEntities.of([enriched.entities]).texts()  # as the run cache keeps them
    chunks = enriched_chunks(folder, head, texts, enriched.statistics)
    assert b"".join(chunks) == (enriched.model_dump_json(indent=2) + "\n").encode()


@pytest.mark.parametrize("policy", [RoundingPolicy("none"), RoundingPolicy("up", 15)])
async def test_the_team_pass_digests_people_as_the_reports_show_them(
    tmp_path: Path, policy: RoundingPolicy
) -> None:
    folder = RunFolder(tmp_path, "r")
    raw = raw_of(600, users=7)
    raw = raw.model_copy(
        update={"entries": [e.model_copy(update={"seconds": 7 * 60}) for e in raw.entries]}
    )
    await save_model(folder, RAW_TOGGL, raw)
    people, _ = aggregate_run(folder, DescriptionParser(ParsingSettings()), policy)
    whole = enriched_of(raw)
    rounded = whole.model_copy(update={"aggregated": round_aggregate(whole.aggregated, policy)})
    index = {(e.type_key, e.public_id): e for e in whole.entities}
    settings = InsightSettings()
    team = team_pass(folder, people, index, policy, settings)
    assert team.aggregated.statistics == rounded.aggregated.statistics
    assert team.aggregated.users == [slim_user(u) for u in rounded.aggregated.users]
    assert team.digest == team_digest(rounded, settings)
    assert folder.read_bytes(ENTRIES_CSV) == entries_csv(whole, policy)


@pytest.mark.parametrize("policy", [RoundingPolicy("none"), RoundingPolicy("up", 15)])
async def test_the_toggl_summary_of_the_view_names_entities_as_the_full_people(
    tmp_path: Path, policy: RoundingPolicy
) -> None:
    """Each entry names its entity differently and several people track each entity: the
    earliest entry across people names it, which the slim people of the view cannot tell."""
    folder = RunFolder(tmp_path, "r")
    raw = raw_of(600, users=7)
    rows = [
        e.model_copy(update={"description": f"Step {e.id} #{e.id % 13} [Scrum] [Task] [Core]"})
        for e in raw.entries
    ]
    raw = raw.model_copy(update={"entries": rows})
    await save_model(folder, RAW_TOGGL, raw)
    parser = DescriptionParser(ParsingSettings())
    full = round_aggregate(
        aggregate(raw.entries, raw.users, raw.start_date, raw.end_date, parser), policy
    )
    people, view = aggregate_run(folder, parser, policy)
    writer = TemplateReportWriter()
    expected = await writer.toggl_summary(full)
    assert await writer.toggl_summary(view.aggregated, view.days, view.names) == expected
    assert await writer.toggl_summary(view.aggregated, view.days) != expected
    assert view.names[("Scrum/Task", "1")] == "Step 1"
    # a worker that did not aggregate the run makes the same view from the slices
    assert toggl_view(people.people(), people.head, policy) == view
