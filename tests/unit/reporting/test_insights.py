from volt_agent.domain.models import EnrichedData, EnrichedEntity, EntityKey
from volt_agent.reporting.insights import (
    KIND_ORDER,
    Insight,
    InsightSettings,
    closing_unknown,
    index_entities,
    team_insights,
    user_insights,
)

from .fixtures import ENTITIES, aggregated, enriched, entry


def by_kind(insights: list[Insight], kind: str) -> list[Insight]:
    return [i for i in insights if i.kind == kind]


def test_time_on_done_entity() -> None:
    [found] = by_kind(team_insights(enriched()), "closed_entity_time")
    assert found.person == "Anna Schmidt"
    assert found.entity == EntityKey(type_key="Scrum/Bug", public_id="9")
    assert found.seconds == 900
    assert found.hours == 0.25
    assert "Done" in found.message


def test_time_on_deleted_and_failed_entities() -> None:
    insights = team_insights(enriched())
    [deleted] = by_kind(insights, "deleted_entity_time")
    assert (deleted.person, deleted.entity, deleted.seconds) == (
        "Boris Petrov",
        EntityKey(type_key="Scrum/Task", public_id="77"),
        2700,
    )
    [failed] = by_kind(insights, "entity_error_time")
    assert failed.entity == EntityKey(type_key="Unknown/Unknown", public_id="88")
    assert "HTTP 500" in failed.message


def test_non_assignee_and_no_assignee() -> None:
    insights = team_insights(enriched())
    [stranger] = by_kind(insights, "not_assignee")
    assert (stranger.person, stranger.entity, stranger.seconds) == (
        "Boris Petrov",
        EntityKey(type_key="Scrum/Task", public_id="123"),
        1800,
    )
    [nobody] = by_kind(insights, "no_assignee")
    assert (nobody.person, nobody.entity) == (
        "Boris Petrov",
        EntityKey(type_key="Product/Feature", public_id="5"),
    )


def test_assignee_matches_name_or_email_case_insensitively() -> None:
    insights = team_insights(enriched())
    flagged = {(i.person, i.entity) for i in by_kind(insights, "not_assignee")}
    assert ("Anna Schmidt", EntityKey(type_key="Scrum/Task", public_id="123")) not in flagged
    assert ("Anna Schmidt", EntityKey(type_key="Scrum/Bug", public_id="9")) not in flagged


def test_high_unmatched_share_and_no_matched_time() -> None:
    insights = team_insights(enriched())
    [share] = by_kind(insights, "high_unmatched_share")
    anna = next(u for u in aggregated().users if u.user_name == "Anna Schmidt")
    assert share.person == "Anna Schmidt"
    assert share.seconds == anna.unmatched_seconds == 900 + 900 + 3900
    assert "47.5%" in share.message
    [none] = by_kind(insights, "no_matched_time")
    assert none.person == "Chen Li"
    assert none.seconds == 5400 + 900
    assert not [i for i in by_kind(insights, "high_unmatched_share") if i.person == "Chen Li"]


def test_long_entry() -> None:
    [long] = by_kind(team_insights(enriched()), "long_entry")
    assert (long.person, long.seconds) == ("Boris Petrov", 37800)
    assert long.entity == EntityKey(type_key="Product/Feature", public_id="5")
    assert "Q1 roadmap" in long.message


def test_thresholds_are_configurable() -> None:
    settings = InsightSettings(
        closed_states=frozenset({"in progress"}),
        unmatched_share_threshold=0.5,
        long_entry_seconds=40000,
    )
    insights = team_insights(enriched(), settings)
    assert not by_kind(insights, "closed_entity_time")
    unknown = {str(k) for k in closing_unknown(enriched(), settings)}
    assert unknown == {"Scrum/Task#123", "Product/Feature#5"}
    assert not by_kind(insights, "high_unmatched_share")
    assert not by_kind(insights, "long_entry")


def test_clean_data_gives_no_insights() -> None:
    entries = [
        entry(1, 10, "Fix login #123 [Scrum] [Task] [Moneyball]", 7200),
        entry(2, 10, "Daily standup", 900, 3),
        entry(3, 20, "Roadmap #5 [Product] [Feature] [Core]", 3600),
    ]
    entities = [
        EnrichedEntity(
            type_key="Scrum/Task",
            public_id="123",
            status="found",
            state="In Progress",
            assignees=["anna schmidt"],
        ),
        EnrichedEntity(
            type_key="Product/Feature",
            public_id="5",
            status="found",
            state="To Do",
            assignees=["Someone", "BORIS@EXAMPLE.COM"],
        ),
    ]
    assert team_insights(enriched(entries, entities)) == []


def test_entities_not_enriched_give_no_entity_insight() -> None:
    insights = team_insights(EnrichedData(aggregated=aggregated(), entities=[]))
    assert {i.kind for i in insights} <= {"high_unmatched_share", "no_matched_time", "long_entry"}


def test_order_is_by_kind_then_time() -> None:
    insights = team_insights(enriched())
    keys = [(KIND_ORDER.index(i.kind), -i.seconds) for i in insights]
    assert keys == sorted(keys)
    assert team_insights(enriched()) == insights


def test_user_insights_are_the_persons_share_of_team_insights() -> None:
    data = enriched()
    index = index_entities(ENTITIES)
    team = team_insights(data)
    for user in data.aggregated.users:
        own = user_insights(user, index)
        assert own == [i for i in team if i.user_id == user.user_id]
        assert all(i.person == user.user_name for i in own)
