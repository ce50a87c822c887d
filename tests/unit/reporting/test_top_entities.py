"""The team report and page build the totals of the entities they show only (issue 12: the
page shows 15 of tens of thousands): the same rows, in the same order, as all totals give."""

from __future__ import annotations

import pytest

from volt_agent.domain.models import EnrichedData, MatchedEntity, UserAggregate
from volt_agent.reporting.insights import index_entities
from volt_agent.reporting.views import (
    EntityTotal,
    entity_seconds,
    entity_totals,
    top_entity_keys,
)

from .test_digest import workspace_run


@pytest.fixture(scope="module")
def run() -> EnrichedData:
    return workspace_run()


def keys_of(totals: list[EntityTotal]) -> list[tuple[str, str]]:
    return [(t.type_key, t.public_id) for t in totals]


@pytest.mark.parametrize("limit", [0, 1, 10, 10_000])
def test_the_top_keys_are_the_first_of_all_totals(run: EnrichedData, limit: int) -> None:
    users = run.aggregated.users
    everything = entity_totals(users, index_entities(run.entities))
    assert len(everything) > 10
    assert top_entity_keys(entity_seconds(users), limit) == keys_of(everything[:limit])


def test_the_totals_of_some_keys_are_those_rows_of_all_totals(run: EnrichedData) -> None:
    users = run.aggregated.users
    index = index_entities(run.entities)
    everything = entity_totals(users, index)
    wanted = set(keys_of(everything[::3]))
    assert entity_totals(users, index, keys=wanted) == [
        t for t in everything if (t.type_key, t.public_id) in wanted
    ]
    assert entity_totals(users, index, keys=set()) == []


def group(entity_id: str, seconds: int) -> MatchedEntity:
    return MatchedEntity(
        entity_id=entity_id,
        database="Scrum",
        entity_type="Task",
        name=f"#{entity_id}",
        seconds=seconds,
        entry_count=1,
    )


def test_equal_times_are_ordered_by_type_then_numeric_id() -> None:
    groups = [group("10", 60), group("9", 60), group("11", 120)]
    user = UserAggregate(
        user_id=1,
        user_name="Ann",
        total_seconds=240,
        matched_seconds=240,
        unmatched_seconds=0,
        entry_count=3,
        matched=groups,
    )
    expected = [("Scrum/Task", "11"), ("Scrum/Task", "9"), ("Scrum/Task", "10")]
    assert top_entity_keys(entity_seconds([user]), 3) == expected
    assert keys_of(entity_totals([user])) == expected
