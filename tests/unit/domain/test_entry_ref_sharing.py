"""``EntryRef`` instances share what they can (issue 12: one per time entry of a run), without
changing what a model says about itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from volt_agent.domain.models import Comment, EntryRef, MatchedEntity

START = datetime(2026, 11, 16, 9, tzinfo=UTC)


def ref(entry_id: int, description: str, **extra: object) -> EntryRef:
    return EntryRef.model_validate(
        {"id": entry_id, "start": START, "seconds": 60, "description": description, **extra}
    )


def test_equal_descriptions_and_full_fields_sets_are_shared() -> None:
    text = "".join(["Fix #12 ", "[Scrum] [Task]"])  # built at run time: not a literal constant
    a, b = ref(1, text, stop=START), ref(2, "".join(["Fix #12 ", "[Scrum] [Task]"]), stop=START)
    assert a.description is b.description
    assert a.__pydantic_fields_set__ is b.__pydantic_fields_set__


def test_sharing_changes_nothing_a_model_reports() -> None:
    full, partial = ref(1, "a", stop=START), ref(2, "a")
    assert partial.model_fields_set == {"id", "start", "seconds", "description"}
    assert partial.model_dump(exclude_unset=True) == {
        "id": 2,
        "start": START,
        "seconds": 60,
        "description": "a",
    }
    full.seconds = 120  # assignment adds a name the shared set already holds
    assert full.model_fields_set == {"id", "start", "stop", "seconds", "description"}
    assert ref(3, "b", stop=START).model_fields_set == full.model_fields_set
    assert full.model_copy(update={"seconds": 5}).seconds == 5
    assert full.seconds == 120


def test_fixed_offsets_share_one_zone_and_zones_with_rules_are_kept() -> None:
    text = (
        '{"id": %d, "start": "2026-11-16T09:00:00+01:00", "stop": null, "seconds": 60,'
        ' "description": "x"}'
    )
    a, b = (EntryRef.model_validate_json(text % n) for n in (1, 2))
    assert a.start.tzinfo is b.start.tzinfo
    assert a.model_dump_json() == (text % 1).replace(": ", ":").replace(", ", ",")
    berlin = datetime(2026, 7, 1, 9, tzinfo=ZoneInfo("Europe/Berlin"))  # +02:00 in summer
    winter = ref(3, "x", stop=datetime(2026, 1, 5, 9, tzinfo=ZoneInfo("Europe/Berlin")))
    summer = EntryRef(id=4, start=berlin, seconds=60, description="x")
    assert summer.start.utcoffset() == timedelta(hours=2)
    assert summer.start.tzinfo is berlin.tzinfo
    assert winter.stop is not None
    assert winter.stop.utcoffset() == timedelta(hours=1)


def test_the_numerous_models_of_an_aggregate_share_their_fields_set() -> None:
    matched = {"entity_id": "7", "name": "Task", "seconds": 60, "entry_count": 1}
    full = {**matched, "database": "Scrum", "entity_type": "Task", "project": None, "entries": []}
    a, b = (MatchedEntity.model_validate(full) for _ in range(2))
    assert a.__pydantic_fields_set__ is b.__pydantic_fields_set__
    partial = MatchedEntity.model_validate(matched)
    assert partial.model_fields_set == set(matched)
    assert a.__pydantic_fields_set__ is not partial.__pydantic_fields_set__
    c, d = (Comment.model_validate({"author": "Ann", "created": START, "text": "x"}) for _ in "cd")
    assert c.__pydantic_fields_set__ is d.__pydantic_fields_set__
