"""Parsing of entity rows: configured fields come back bare whether Fibery nests them or not."""

from __future__ import annotations

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
