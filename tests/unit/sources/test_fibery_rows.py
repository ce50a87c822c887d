"""Parsing of entity rows: configured fields come back bare whether Fibery nests them or not."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from volt_agent.config import EnrichmentType
from volt_agent.sources.fibery_rows import entity_of, rows_of

ENRICHMENT = EnrichmentType(
    fields={"severity": ["Scrum/Severity", "enum/name"], "points": "Scrum/Points"}
)


def parsed(row: dict[str, Any]) -> dict[str, Any]:
    [one] = rows_of([{"public_id": "7", **row}], max_comments=5)
    return entity_of("Scrum/Bug", one, ENRICHMENT, {}).fields


@pytest.mark.parametrize(
    "severity", ["High", {"enum/name": "High"}], ids=["bare", "nested as published"]
)
def test_a_path_into_an_enum_gives_the_bare_value(severity: object) -> None:
    assert parsed({"severity": severity, "points": 3}) == {"severity": "High", "points": 3}


def test_other_shapes_are_kept_as_fibery_sent_them() -> None:
    """Only the exact ``{last path element: value}`` wrapper is taken off."""
    odd = {"enum/name": "High", "fibery/id": "x"}
    assert parsed({"severity": odd, "points": {"enum/name": 3}}) == {
        "severity": odd,
        "points": {"enum/name": 3},
    }
    assert parsed({}) == {"severity": None, "points": None}


def entity(row: dict[str, Any], enrichment: EnrichmentType = ENRICHMENT) -> Any:
    [one] = rows_of([{"public_id": "7", **row}], max_comments=5)
    return entity_of("Scrum/Bug", one, enrichment, {})


def test_assignees_keep_both_name_and_email() -> None:
    found = entity(
        {
            "assignees": [
                {"name": "Anna Schmidt", "email": "anna@example.com"},
                {"name": "Boris Petrov"},
                {"email": "chen@example.com"},
            ]
        }
    )
    assert found.assignees == ["Anna Schmidt", "Boris Petrov", "chen@example.com"]
    assert found.assignee_emails == ["anna@example.com", "chen@example.com"]


CLOSING = EnrichmentType(fields={"resolved": "Scrum/Resolved"}, closed_at="resolved")


def test_closing_field_as_date_or_timestamp() -> None:
    on_day = entity({"resolved": "2026-11-18"}, CLOSING)
    assert (on_day.closed_on, on_day.closed_at) == (date(2026, 11, 18), None)
    at = entity({"resolved": "2026-11-18T09:30:00.000Z"}, CLOSING)
    assert (at.closed_on, at.closed_at) == (None, datetime(2026, 11, 18, 9, 30, tzinfo=UTC))
    for unknown in (None, "soon", 5):
        blank = entity({"resolved": unknown}, CLOSING)
        assert (blank.closed_on, blank.closed_at) == (None, None)
    assert entity({"resolved": "2026-11-18"}).closed_on is None


def test_closed_at_must_name_a_field_alias() -> None:
    with pytest.raises(ValueError, match="closed_at 'done' must be one of this type's field"):
        EnrichmentType(fields={"resolved": "Scrum/Resolved"}, closed_at="done")
