from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from volt_agent.domain.aggregation import aggregate
from volt_agent.domain.models import (
    SCHEMA_VERSION,
    Comment,
    EnrichedData,
    EnrichedEntity,
    FetchStatistics,
    RawTogglData,
    TimeEntry,
    TogglAggregated,
    TogglUser,
)

START = datetime(2026, 11, 16, 23, 30, tzinfo=UTC)


def sample_raw() -> RawTogglData:
    entries = [
        TimeEntry(
            id=1,
            user_id=1,
            user_name="Ann",
            description="Fix #1 [Scrum] [Task] [P]",
            start=START,
            stop=datetime(2026, 11, 17, 0, 30, tzinfo=UTC),
            seconds=3600,
        ),
        TimeEntry(id=2, user_id=1, description="Ревью кода 🎉", start=START, seconds=60),
    ]
    return RawTogglData(
        start_date=date(2026, 11, 16),
        end_date=date(2026, 11, 22),
        workspace_id=7,
        users=[TogglUser(id=1, email="ann@example.com", name="Ann", timezone="Europe/Berlin")],
        fetched_at=START,
        request_count=3,
        statistics=FetchStatistics(rows_received=2, entries_kept=2),
        entries=entries,
    )


def test_raw_round_trip() -> None:
    raw = sample_raw()
    again = RawTogglData.model_validate_json(raw.model_dump_json())
    assert again == raw
    assert again.schema_version == SCHEMA_VERSION


def test_aggregated_round_trip_keeps_computed_hours_out_of_validation() -> None:
    raw = sample_raw()
    agg = aggregate(raw.entries, raw.users, raw.start_date, raw.end_date)
    dumped = agg.model_dump_json()
    assert '"total_hours":1.02' in dumped
    assert TogglAggregated.model_validate_json(dumped).model_dump_json() == dumped


def test_enriched_round_trip() -> None:
    raw = sample_raw()
    agg = aggregate(raw.entries, raw.users, raw.start_date, raw.end_date)
    data = EnrichedData(
        aggregated=agg,
        entities=[
            EnrichedEntity(
                type_key="Scrum/Task",
                public_id="1",
                status="found",
                name="Fix",
                state="Done",
                comments=[Comment(author="Bo", text="ok")],
                comment_count=1,
                fields={"estimate": 3},
            ),
            EnrichedEntity(type_key="Scrum/Task", public_id="2", status="not_found"),
        ],
    )
    assert EnrichedData.model_validate_json(data.model_dump_json()) == data


def test_unknown_fields_and_bad_status_rejected() -> None:
    with pytest.raises(ValidationError):
        EnrichedEntity(type_key="Scrum/Task", public_id="1", status="gone")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        TogglUser.model_validate({"id": 1, "surprise": True})
