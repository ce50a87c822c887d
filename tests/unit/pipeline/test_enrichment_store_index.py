"""``EnrichmentStore.index``: the batch files read back whole, what repeats across entities
shared (issue 12: the run cache keeps the index resident), a broken file one line."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from volt_agent.domain.models import Comment, EnrichedEntity, TogglAggregated, UserAggregate
from volt_agent.pipeline.enrichment_store import EnrichmentStore, batch_file, for_team
from volt_agent.storage.atomic import StorageError
from volt_agent.storage.run_folder import TOGGL_AGGREGATED, RunFolder

TYPE = "Scrum/Task"
CET = timezone(timedelta(hours=1))


def entity(public_id: str) -> EnrichedEntity:
    return EnrichedEntity(
        type_key=TYPE,
        public_id=public_id,
        status="found",
        name=f"Task {public_id}",
        state="".join(["In ", "Progress"]),
        created=datetime(2026, 11, int(public_id), 9, tzinfo=CET),
        assignees=["".join(["Aoife ", "Silva"])],
        comments=[
            Comment(author="".join(["Wei ", "Lo"]), created=datetime(2026, 11, 20, 8, tzinfo=UTC))
        ],
        comment_count=1,
        fields={"".join(["prio", "rity"]): "".join(["Co", "uld"]), "days": int(public_id)},
    )


def store_with_two_batches(tmp_path: Path) -> EnrichmentStore:
    store = EnrichmentStore(RunFolder(tmp_path, "r"))
    store.write_plan({TYPE: ["1", "2"]}, batch_size=1)
    store.save_batch(TYPE, 0, [entity("1")])
    store.save_batch(TYPE, 1, [entity("2")])
    return store


def test_the_index_holds_the_saved_entities_and_shares_what_repeats(tmp_path: Path) -> None:
    index = store_with_two_batches(tmp_path).index()
    assert index == {(TYPE, "1"): entity("1"), (TYPE, "2"): entity("2")}
    a, b = index[(TYPE, "1")], index[(TYPE, "2")]
    assert a.state is b.state
    assert a.assignees[0] is b.assignees[0]
    assert a.comments[0].author is b.comments[0].author
    (name_a, value_a), (name_b, value_b) = (next(iter(e.fields.items())) for e in (a, b))
    assert name_a is name_b
    assert value_a is value_b == "Could"
    zones = [e.created.tzinfo for e in (a, b) if e.created is not None]
    assert len(zones) == 2
    assert zones[0] is zones[1]
    assert zones[0] is not None
    assert zones[0].utcoffset(None) == timedelta(hours=1)
    assert a.comments[0].created is not None
    assert a.comments[0].created.tzinfo is b.comments[0].created.tzinfo  # type: ignore[union-attr]


def test_a_broken_batch_file_is_one_line_naming_it(tmp_path: Path) -> None:
    store = store_with_two_batches(tmp_path)
    assert len(store.index()) == 2
    (tmp_path / "r" / batch_file(TYPE, 1)).write_text('{"type_key": "Scrum/Task", "index": 1')
    with pytest.raises(StorageError, match=r"Scrum_Task-00001\.json is not a valid EnrichedBatch"):
        EnrichmentStore(RunFolder(tmp_path, "r")).index()
    assert len(store.index()) == 2  # loaded before the file broke: kept by that store


def test_the_team_index_drops_texts_and_other_fields_and_the_store_reads_them_again(
    tmp_path: Path,
) -> None:
    store = store_with_two_batches(tmp_path)
    full = {
        key: e.model_copy(update={"description": "text", "fibery_id": f"uuid-{key[1]}"})
        for key, e in store.index().items()
    }
    store.save_batch(TYPE, 0, [full[(TYPE, "1")]])
    store.save_batch(TYPE, 1, [full[(TYPE, "2")]])
    team = store.team_index(fields=("days", "absent"))
    assert list(team) == [(TYPE, "1"), (TYPE, "2")]
    for key, kept in team.items():
        assert (kept.description, kept.comments, kept.comment_count) == ("", [], 1)
        assert kept.fibery_id is None
        assert kept.fields == {"days": int(key[1])}  # the estimate's field only
        texts = {"fibery_id", "description", "comments", "fields"}
        assert kept.model_dump(exclude=texts) == full[key].model_dump(exclude=texts)
    assert store.index() == full  # a later reader (a retry) gets the files' entities


def test_a_team_entity_is_the_entity_without_its_texts_in_a_smaller_dict() -> None:
    full = entity("1").model_copy(update={"description": "text", "fields": {"days": 1, "x": 2}})
    kept = for_team(full, ("days",))
    expected = full.model_copy(update={"description": "", "comments": [], "fields": {"days": 1}})
    assert kept == expected
    assert kept.model_dump_json() == expected.model_dump_json()
    assert sys.getsizeof(kept.__dict__) < sys.getsizeof(expected.__dict__)


def test_an_entity_with_nothing_to_drop_is_kept_as_it_is() -> None:
    bare = entity("1").model_copy(update={"comments": [], "fields": {"days": 1}})
    assert for_team(bare, ("days",)) is bare
    with_id = bare.model_copy(update={"fibery_id": "uuid-1"})
    assert for_team(with_id, ("days",)) == bare
    assert for_team(bare).fields == {}


def test_dropped_entries_are_read_again_by_a_later_caller(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "r")
    user = UserAggregate(
        user_id=7,
        user_name="Ann",
        total_seconds=60,
        matched_seconds=0,
        unmatched_seconds=60,
        entry_count=1,
    )
    folder.save(
        TOGGL_AGGREGATED,
        TogglAggregated(start_date=date(2026, 11, 2), end_date=date(2026, 11, 8), users=[user]),
    )
    store = EnrichmentStore(folder)
    kept = store.slices()
    store.drop_entries()
    assert kept.blobs == {}
    assert kept.head.users[0].user_id == 7  # the slim people stay for the reports
    assert store.slices().person(7) == user  # a retry reads the file again
