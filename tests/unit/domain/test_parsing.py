import pytest

from volt_agent.config import ParsingSettings
from volt_agent.domain.parsing import DescriptionParser, id_sort_key

parser = DescriptionParser()


@pytest.mark.parametrize(
    ("description", "entity_id", "database", "entity_type", "project", "text"),
    [
        (
            "Fix login #123 [Scrum] [Task] [Moneyball]",
            "123",
            "Scrum",
            "Task",
            "Moneyball",
            "Fix login",
        ),
        (
            "Fixed bug #1234 [Backend] [Bug] [AuthService]",
            "1234",
            "Backend",
            "Bug",
            "AuthService",
            "Fixed bug",
        ),
        (
            "? Нет полей Stage, Next action #1112 [Scrum] [Sub-bug] [Moneyball]",
            "1112",
            "Scrum",
            "Sub-bug",
            "Moneyball",
            "? Нет полей Stage, Next action",
        ),
        (
            "Issue #12 relates to #34 [Scrum] [Task] [P]",
            "34",
            "Scrum",
            "Task",
            "P",
            "Issue #12 relates to",
        ),
        ("Only an id #77", "77", None, None, None, "Only an id"),
        ("Two tags #5 [Product] [Feature]", "5", "Product", "Feature", None, "Two tags"),
        ("Leading zeros #007 [Scrum] [Task] [X]", "7", "Scrum", "Task", "X", "Leading zeros"),
        ("Empty tag #9 [] [Scrum] [Task]", "9", "Scrum", "Task", None, "Empty tag"),
        (
            "  spaced   out   #3   [Scrum]   [Chore]  [Ops] ",
            "3",
            "Scrum",
            "Chore",
            "Ops",
            "spaced out",
        ),
    ],
)
def test_matched_descriptions(
    description: str,
    entity_id: str,
    database: str | None,
    entity_type: str | None,
    project: str | None,
    text: str,
) -> None:
    parsed = parser.parse(description)
    assert parsed.matched
    assert parsed.entity_id == entity_id
    assert (parsed.database, parsed.entity_type, parsed.project) == (database, entity_type, project)
    assert parsed.text == text
    assert parsed.raw == description


@pytest.mark.parametrize(
    ("description", "text"),
    [
        ("Daily standup", "Daily standup"),
        ("1:1 with Anna", "1:1 with Anna"),
        ("", ""),
        (None, ""),
        ("#", "#"),
        ("Room #B12 booking", "Room #B12 booking"),
        ("ticket#abc", "ticket#abc"),
        ("Meeting [Internal]", "Meeting"),
        ("Code review 🎉 ünïcödé", "Code review 🎉 ünïcödé"),
    ],
)
def test_unmatched_descriptions(description: str | None, text: str) -> None:
    parsed = parser.parse(description)
    assert not parsed.matched
    assert parsed.entity_id is None
    assert parsed.text == text


def test_type_key_needs_database_and_type() -> None:
    assert parser.parse("x #1 [Scrum] [Task]").type_key == "Scrum/Task"
    assert parser.parse("x #1 [Scrum]").type_key is None


def test_overlong_and_hostile_input_never_raises() -> None:
    long_text = ("word [tag] #x " * 200) + "#42 [Scrum] [Bug] [P]"
    assert parser.parse(long_text).entity_id == "42"
    for odd in [
        "[" * 500,
        "]" * 500,
        "#" * 1000,
        "\x00\x01#1\x02",
        "#99999999999999999999999 [A] [B]",
    ]:
        parser.parse(odd)
    assert parser.parse("#99999999999999999999999 [A] [B]").entity_id == "99999999999999999999999"


def test_configurable_patterns() -> None:
    custom = DescriptionParser(ParsingSettings(id_pattern=r"ID-(\d+)", tag_pattern=r"\{([^{}]*)\}"))
    parsed = custom.parse("Write docs ID-55 {Scrum} {Task} {Docs}")
    assert (parsed.entity_id, parsed.type_key, parsed.project, parsed.text) == (
        "55",
        "Scrum/Task",
        "Docs",
        "Write docs",
    )
    assert not custom.parse("Write docs #55 [Scrum] [Task]").matched


def test_id_sort_key_orders_numbers_numerically() -> None:
    assert sorted(["10", "9", "abc", "100"], key=id_sort_key) == ["9", "10", "100", "abc"]
