"""Closing dates of finished sandbox entities follow the time tracked on them."""

from __future__ import annotations

from datetime import date, timedelta

from volt_agent.sandbox._closing_dates import CLOSING_FIELDS, tracked_days
from volt_agent.sandbox.workspace import WorkspaceSpec, generate_workspace


def closings(spec: WorkspaceSpec) -> list[tuple[date, list[date]]]:
    workspace = generate_workspace(spec)
    tracked = tracked_days(workspace.time_entries)
    found = []
    for type_key, field in CLOSING_FIELDS.items():
        for entity in workspace.fibery_entities[type_key]:
            worked = tracked.get((type_key, entity["fibery/public-id"]))
            if entity.get(field) and worked:
                found.append((date.fromisoformat(entity[field]), worked))
    return found


def test_closing_days_lie_around_the_tracked_time() -> None:
    spec = WorkspaceSpec()
    end = spec.start_date + timedelta(days=spec.days - 1)
    found = closings(spec)
    assert found
    for closed, worked in found:
        assert worked[0] <= closed <= end + timedelta(days=5)
    within = [c for c, worked in found if worked[-1] <= c <= end]
    after = [c for c, _ in found if c > end]
    assert within, "some entities close inside the period (accomplishments)"
    assert after, "some close only after the period"


def test_closing_dates_are_deterministic() -> None:
    first, second = generate_workspace(), generate_workspace()
    assert first.fibery_entities == second.fibery_entities
    assert first.time_entries == second.time_entries
