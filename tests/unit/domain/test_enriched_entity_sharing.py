"""``EnrichedEntity`` and ``Comment`` share what repeats across the entities a run keeps
resident (issue 12), without changing a value or a byte of their JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic_core import TzInfo

from volt_agent.domain.models import Comment, EnrichedEntity

LONG = "Release train " + "x" * 70  # past the length pydantic's JSON string cache keeps


def entity_json(public_id: str, created: str = "2026-11-16T09:00:00+01:00") -> str:
    return json.dumps(
        {
            "type_key": "Scrum/Task",
            "public_id": public_id,
            "status": "found",
            "fibery_id": f"uuid-{public_id}",
            "name": f"Task {public_id}",
            "state": "In Progress",
            "created": created,
            "modified": "2026-11-20T16:54:17.084000Z",
            "assignees": ["Aoife Silva", LONG],
            "assignee_emails": ["aoife.silva@volt.example"],
            "closed_at": "2026-11-21T08:00:00+01:00",
            "description": "Steps to reproduce",
            "comments": [
                {"author": "Wei O'Brien", "created": "2026-11-16T07:22:05.860000Z", "text": "ok"},
                {"author": LONG, "created": "2026-11-17T07:00:00-05:30", "text": "done"},
            ],
            "comment_count": 2,
            "fields": {"priority": "Could", "release": LONG, "labels": ["ui", LONG], "days": 3},
        },
        indent=2,
    )


def shared_strings(entity: EnrichedEntity) -> list[Any]:
    """Every string of an entity that repeats across entities, in a fixed order."""
    return [
        entity.type_key,
        entity.status,
        entity.state,
        *entity.assignees,
        *entity.assignee_emails,
        *entity.fields,
        *(v for v in entity.fields.values() if isinstance(v, str)),
        *entity.fields["labels"],
        *(c.author for c in entity.comments),
    ]


def aware(value: datetime | None) -> datetime:
    assert value is not None
    return value


def via_python(text: str) -> EnrichedEntity:
    return EnrichedEntity.model_validate(json.loads(text))


@pytest.mark.parametrize("read", [via_python, EnrichedEntity.model_validate_json])
def test_equal_strings_of_entities_read_from_json_are_one_object(read: Any) -> None:
    first, second = json.loads(entity_json("1")), json.loads(entity_json("2"))
    assert first["state"] is not second["state"]  # each decode makes its own strings
    a, b = read(entity_json("1")), read(entity_json("2"))
    pairs = list(zip(shared_strings(a), shared_strings(b), strict=True))
    assert len(pairs) == 16
    for left, right in pairs:
        assert left == right
        assert left is right, left
    assert a.name != b.name


def test_fixed_offsets_share_one_zone_per_offset() -> None:
    a = EnrichedEntity.model_validate_json(entity_json("1"))
    b = EnrichedEntity.model_validate_json(entity_json("2", created="2026-10-01T10:00:00+01:00"))
    cet, utc = aware(a.created).tzinfo, aware(a.modified).tzinfo
    assert aware(b.created).tzinfo is cet
    assert aware(a.closed_at).tzinfo is cet
    assert aware(b.modified).tzinfo is utc
    assert aware(a.comments[0].created).tzinfo is utc
    assert utc is not cet
    assert aware(a.created).utcoffset() == timedelta(hours=1)
    india = aware(a.comments[1].created)
    assert india.utcoffset() == timedelta(hours=-5, minutes=-30)
    assert india.tzinfo is aware(b.comments[1].created).tzinfo


def test_zones_with_rules_are_kept_and_the_ends_of_the_range_keep_their_value() -> None:
    berlin = datetime(2026, 7, 1, 9, tzinfo=ZoneInfo("Europe/Berlin"))
    entity = EnrichedEntity(type_key="T/T", public_id="1", status="found", created=berlin)
    assert entity.created is berlin
    last, first = "9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00"
    for text in (last, first):
        moment = aware(Comment.model_validate_json(json.dumps({"created": text})).created)
        again = aware(Comment.model_validate_json(json.dumps({"created": text})).created)
        assert moment.tzinfo is again.tzinfo
        assert moment.isoformat() == datetime.fromisoformat(text).isoformat()


@pytest.mark.parametrize("read", [via_python, EnrichedEntity.model_validate_json])
def test_the_json_dump_round_trips_byte_identical(read: Any) -> None:
    text = EnrichedEntity.model_validate(json.loads(entity_json("1"))).model_dump_json(indent=2)
    assert '"created": "2026-11-16T09:00:00+01:00"' in text
    assert '"modified": "2026-11-20T16:54:17.084000Z"' in text
    assert '"created": "2026-11-17T07:00:00-05:30"' in text
    first = read(text)
    second = read(text)  # its zones and strings are the shared ones now
    assert aware(second.created).tzinfo is aware(first.created).tzinfo
    assert second.model_dump_json(indent=2) == text
    assert second.model_dump(mode="json") == json.loads(text)
    assert second == EnrichedEntity.model_validate(json.loads(text))


def test_a_comment_author_is_interned() -> None:
    rows = [json.loads(json.dumps({"author": "Tomasz Kowalski", "text": "x"})) for _ in "ab"]
    assert rows[0]["author"] is not rows[1]["author"]
    a, b = (Comment.model_validate(row) for row in rows)
    assert a.author is b.author == "Tomasz Kowalski"
    assert Comment(text="no author").author is None
    created = datetime(2026, 11, 16, 9, tzinfo=UTC)
    assert Comment(author="A", created=created).created == created


def test_a_rebuilt_datetime_keeps_every_field() -> None:
    """The second datetime of an offset gets the first one's zone in a rebuilt datetime."""
    first = Comment(created=datetime(2026, 3, 1, tzinfo=TzInfo(-9000)))
    moment = datetime(2026, 10, 25, 2, 30, 59, 999999, tzinfo=TzInfo(-9000), fold=1)
    rebuilt = aware(Comment(created=moment).created)
    assert rebuilt is not moment
    assert rebuilt.tzinfo is aware(first.created).tzinfo
    assert (rebuilt.fold, rebuilt.microsecond, rebuilt.isoformat()) == (
        1,
        999999,
        "2026-10-25T02:30:59.999999-02:30",
    )
    assert rebuilt == moment
