"""``compact_copy``: a model's copy with the same values in a smaller field dict (issue 12:
a run's reports keep tens of thousands of slim groups)."""

from __future__ import annotations

import gc
import pickle
import tracemalloc
from collections.abc import Callable

from volt_agent.domain.models import EntryRef, MatchedEntity, compact_copy


def group(entity_id: str) -> MatchedEntity:
    start = EntryRef.model_validate(
        {"id": 1, "start": "2026-11-02T09:00:00Z", "seconds": 60, "description": "x"}
    )
    return MatchedEntity(
        entity_id=entity_id,
        database="Scrum",
        entity_type="Task",
        project="Atlas",
        name="Fix login",
        seconds=60,
        entry_count=1,
        entries=[start],
    )


def test_a_compact_copy_equals_the_model_copy_and_dumps_the_same() -> None:
    original = group("7")
    compact = compact_copy(original, {"entries": []})
    expected = original.model_copy(update={"entries": []})
    assert compact == expected
    assert compact.model_dump_json() == expected.model_dump_json()
    assert compact.type_key == "Scrum/Task"  # computed fields still work
    assert compact.model_fields_set == set(MatchedEntity.model_fields)
    assert pickle.loads(pickle.dumps(compact)) == expected  # noqa: S301 - our own
    assert original.entries  # the original is left as it was


def test_compact_copies_take_less_memory_and_stay_assignable() -> None:
    groups = [group(str(i)) for i in range(500)]

    def traced(copy: Callable[[MatchedEntity], MatchedEntity]) -> int:
        gc.collect()
        tracemalloc.start()
        try:
            copies = [copy(g) for g in groups]
            gc.collect()
            assert len(copies) == len(groups)
            return tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()

    compact = traced(lambda g: compact_copy(g, {"entries": []}))
    plain = traced(lambda g: g.model_copy(update={"entries": []}))
    assert compact < 0.8 * plain
    copy = compact_copy(groups[0], {})
    copy.seconds = 120
    assert (copy.seconds, compact_copy(groups[1], {}).seconds) == (120, 60)


def test_groups_of_one_type_share_one_type_key_string() -> None:
    """A team report keys tables of tens of thousands of groups by it (issue 12)."""
    first, second = group("7"), group("8")
    assert first.type_key == "Scrum/Task"
    assert first.type_key is second.type_key
