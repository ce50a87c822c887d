"""Person totals and percentages stated in a narrative (``grounding.check_narrative``)."""

from __future__ import annotations

import pytest

from volt_agent.domain.models import MatchedEntity, UserAggregate
from volt_agent.reporting.grounding import Facts, check_narrative, facts_from_users

HOUR = 3600


def user(
    user_id: int, name: str, total_h: float, work: list[tuple[str, str, float, int]]
) -> UserAggregate:
    """``work``: (entity id, type name, hours, entries) of matched time."""
    matched = [
        MatchedEntity(
            entity_id=entity_id,
            database="Scrum",
            entity_type=type_name,
            name=f"Entity {entity_id}",
            seconds=round(hours * HOUR),
            entry_count=entries,
        )
        for entity_id, type_name, hours, entries in work
    ]
    matched_seconds = sum(m.seconds for m in matched)
    total = round(total_h * HOUR)
    return UserAggregate(
        user_id=user_id,
        user_name=name,
        total_seconds=total,
        matched_seconds=matched_seconds,
        unmatched_seconds=total - matched_seconds,
        entry_count=sum(m.entry_count for m in matched) + 4,
        matched=matched,
    )


# Zoë: 32.5 h, 20 h matched (61.54%): Task 15 h, Bug 5 h; 6 of 10 entries matched.
# Łukasz Wójcik: 10 h, 8 h matched (80%): Task 8 h. Team: 42.5 h, 28 h matched (65.88%).
ZOE = user(1, "Zoë Ångström", 32.5, [("12", "Task", 15, 4), ("13", "Bug", 5, 2)])
LUKASZ = user(2, "Łukasz Wójcik", 10, [("12", "Task", 8, 3)])
TEAM = facts_from_users([ZOE, LUKASZ])
PERSON = facts_from_users([ZOE])


@pytest.mark.parametrize(
    "text",
    [
        "Zoë logged 32.5 h this week.",
        "Zoë Ångström (32.50 h) and Łukasz Wójcik (10 h) tracked time.",
        "Łukasz tracked a total of 10.05 hours, mostly on #12.",
        "Zoë's 32.5 h in total were spread evenly.",
        "Zoë spent 3 h on code review.",  # a part of her time: not her total
        "Zoë logged 20 h matched and 12.5 h unmatched.",
        "Of the 42.5 h, Zoë 4 h went to meetings.",  # bare name and figure: not a total claim
        "The team tracked 42.5 h and 66% of it was matched.",
        "Zoë had 62% matched time; Łukasz 80% matched.",
        "Zoë logged 32.5 h, 62% of it matched.",  # the name carries over within a sentence
        "Zoë spent 46% of her time on Tasks and 15% on Bugs.",
        "Bugs took 25% of Zoë's matched time.",
        "60% of Zoë's entries were matched.",
        "Zoë tracked 76% of the team's time.",
        "Zoë put 40% of her effort into the login rework.",  # no share the data names
        "#12 took 50% of the sprint.",  # a share of an entity: not checked
    ],
)
def test_right_totals_and_percentages_pass(text: str) -> None:
    assert check_narrative(text, TEAM) == []


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("Zoë logged 30 h this week.", "states 30 h for Zoë; the data says 32.50 h"),
        ("Łukasz Wójcik (12 h) was on call.", "states 12 h for Łukasz Wójcik"),
        ("Zoë logged 25 h matched.", "states 25 h for Zoë; the data says 20.00 h"),
        ("The team matched 75% of its time.", "states 75%; the data says 65.9%"),
        ("Łukasz had 62% matched time.", "states 62%; the data says 80.0%"),
        ("Zoë logged 32.5 h, 80% of it matched.", "states 80%"),
        ("Zoë spent 60% of her time on Bugs.", "states 60%"),
        ("Zoë tracked 50% of the team's time.", "states 50%; the data says 76.5%"),
    ],
)
def test_wrong_totals_and_percentages_are_reported(text: str, wrong: str) -> None:
    problems = check_narrative(text, TEAM)
    assert len(problems) == 1
    assert problems[0].startswith(wrong)


def test_a_person_report_checks_that_persons_figures() -> None:
    assert check_narrative("You logged 32.5 h; 62% was matched.", PERSON) == []
    assert check_narrative("Zoë logged 32.5 h; 66% was matched.", PERSON) == [
        "states 66%; the data says 61.5%"
    ]


def test_percent_tolerance_is_configurable() -> None:
    text = "Zoë had 64% matched time."
    assert check_narrative(text, TEAM, percent_tolerance=1.0) != []
    assert check_narrative(text, TEAM, percent_tolerance=3.0) == []


def test_hours_tolerance_applies_to_person_totals() -> None:
    text = "Zoë logged 32.8 h."
    assert check_narrative(text, TEAM, tolerance=0.1) != []
    assert check_narrative(text, TEAM, tolerance=0.5) == []


def test_two_people_with_one_first_name_allow_either_total() -> None:
    other = user(3, "Zoë Berg", 7, [])
    facts = facts_from_users([ZOE, other])
    assert check_narrative("Zoë logged 7 h.", facts) == []
    assert check_narrative("Zoë logged 8 h.", facts) == [
        "states 8 h for Zoë; the data says 7.00 or 32.50 h"
    ]


def test_facts_without_people_check_no_names() -> None:
    assert check_narrative("Zoë logged 1 h; 3% matched.", Facts({})) == []
