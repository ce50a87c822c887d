"""``PackedEntities``: the run cache's entities, compressed (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from volt_agent.domain.models import Comment, EnrichedEntity
from volt_agent.pipeline.offload import item_text
from volt_agent.pipeline.packed_entities import PackedEntities


def entity(
    public_id: str, *, status: str = "found", comments: int = 1, reported: int = 1
) -> EnrichedEntity:
    return EnrichedEntity(
        type_key="Scrum/Task" if int(public_id) % 2 else "Scrum/Bug",
        public_id=public_id,
        status=status,  # type: ignore[arg-type]
        name=f"Task {public_id}: Ünïcode ✓",
        state="In Progress",
        description=f"Steps for {public_id}\nline two",
        assignees=["Aoife Silva"],
        comments=[
            Comment(
                author="Wei Lo", text=f"note {i}", created=datetime(2026, 11, 20, 8, tzinfo=UTC)
            )
            for i in range(comments)
        ],
        comment_count=reported,
        fields={"Priority": "Could", "Estimate": int(public_id)},
    )


def test_an_entity_reads_back_equal_and_renders_as_enriched_data_does() -> None:
    batches = [[entity("1"), entity("2")], [entity("3", status="not_found", comments=0)]]
    packed = PackedEntities.of(batches)
    flat = [e for batch in batches for e in batch]
    assert list(packed) == [(e.type_key, e.public_id) for e in flat]
    assert len(packed) == 3
    assert dict(packed) == {(e.type_key, e.public_id): e for e in flat}
    assert [t.decode() for t in packed.texts()] == [item_text(e) for e in flat]
    assert ("Scrum/Task", "9") not in packed
    with pytest.raises(KeyError):
        packed[("Scrum/Task", "9")]
    assert packed.get(("Scrum/Task", "9")) is None


def test_the_tally_counts_statuses_per_type_and_comments() -> None:
    packed = PackedEntities.of(
        [
            [entity("1"), entity("2", comments=2, reported=5)],
            [
                entity("3", status="error", comments=0, reported=0),
                entity("4", comments=3, reported=0),
            ],
        ]
    )
    tally = packed.tally
    assert tally.statistics() == {
        "entities": 4,
        "found": 3,
        "not_found": 0,
        "error": 1,
        "by_type": {"Scrum/Bug": {"found": 2}, "Scrum/Task": {"error": 1, "found": 1}},
    }
    assert (tally.comments, tally.comments_kept, tally.truncated_entities) == (1 + 5 + 0 + 3, 6, 1)


def test_a_key_added_again_is_ignored() -> None:
    again = entity("1", status="error", comments=0, reported=0)
    packed = PackedEntities.of([[entity("1")], [again]])
    assert list(packed) == [("Scrum/Task", "1")]
    assert packed[("Scrum/Task", "1")] == entity("1")
    assert packed.tally.statistics()["found"] == 1
    assert packed.tally.statistics()["error"] == 0


def test_popped_entities_are_gone_and_clear_empties_it() -> None:
    packed = PackedEntities.of([[entity("1"), entity("2")]])
    assert packed.pop(("Scrum/Task", "1")) == entity("1")
    assert list(packed) == [("Scrum/Bug", "2")]
    packed.clear()
    assert len(packed) == 0
    assert packed == {}


def test_entities_alike_compress_against_the_first_batch() -> None:
    """The preset dictionary: an entity costs a fraction of its rendering, not ~half."""
    many = [entity(str(i)) for i in range(1, 201)]
    packed = PackedEntities.of([many[:20], many[20:]])
    rendered = sum(len(item_text(e).encode()) for e in many)
    assert packed.nbytes < rendered / 4
    alone = PackedEntities.of([[e] for e in many])  # a dictionary of one entity only
    assert packed.nbytes < alone.nbytes
