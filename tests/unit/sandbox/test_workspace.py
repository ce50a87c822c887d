from collections import Counter
from datetime import UTC, date, timedelta
from zoneinfo import ZoneInfo

import pytest

from volt_agent.sandbox import TimeEntryRecord, Workspace, WorkspaceSpec, generate_workspace
from volt_agent.sandbox._fibery_schema import LAYOUTS

from ._helpers import REFERENCE

SCRUM_AND_PRODUCT_TYPES = {
    "Scrum/Task",
    "Scrum/Bug",
    "Scrum/Sub-bug",
    "Scrum/Feature",
    "Scrum/Build",
    "Scrum/Sub-task",
    "Scrum/Chore",
    "Product/Feature",
}


def matched_share(workspace: Workspace) -> float:
    matched = sum(1 for e in workspace.time_entries if REFERENCE.search(e.description))
    return matched / len(workspace.time_entries)


def test_same_seed_gives_identical_workspace(workspace: Workspace) -> None:
    again = generate_workspace(WorkspaceSpec())

    assert again.time_entries == workspace.time_entries
    assert again.fibery_entities == workspace.fibery_entities
    assert again.documents == workspace.documents
    assert again.toggl_users == workspace.toggl_users
    assert again.deleted_refs == workspace.deleted_refs


def test_different_seed_gives_different_workspace(workspace: Workspace) -> None:
    other = generate_workspace(WorkspaceSpec(seed=7))

    assert other.time_entries != workspace.time_entries
    assert other.documents.keys().isdisjoint(workspace.documents.keys())


@pytest.mark.parametrize(
    "spec", [WorkspaceSpec(), WorkspaceSpec(users=30, days=14, seed=3)], ids=["default", "30x14"]
)
def test_matched_share_is_between_60_and_80_percent(spec: WorkspaceSpec) -> None:
    assert 0.6 <= matched_share(generate_workspace(spec)) <= 0.8


def test_matched_share_follows_the_spec() -> None:
    workspace = generate_workspace(WorkspaceSpec(users=20, matched_share=0.3))

    assert 0.22 <= matched_share(workspace) <= 0.38


def test_matched_descriptions_use_the_integration_format(workspace: Workspace) -> None:
    served = {
        (type_key, entity["fibery/public-id"])
        for type_key, entities in workspace.fibery_entities.items()
        for entity in entities
    }
    deleted = {(ref.type_key, ref.public_id) for ref in workspace.deleted_refs}
    for entry in workspace.time_entries:
        if match := REFERENCE.search(entry.description):
            public_id, space, kind, _project = match.groups()
            assert (f"{space}/{kind}", public_id) in served | deleted


def test_deleted_references_are_not_served_but_are_tracked(workspace: Workspace) -> None:
    assert workspace.deleted_refs
    served_ids = {
        (type_key, entity["fibery/public-id"])
        for type_key, entities in workspace.fibery_entities.items()
        for entity in entities
    }
    for ref in workspace.deleted_refs:
        assert (ref.type_key, ref.public_id) not in served_ids
    referenced = {
        (f"{m[2]}/{m[3]}", m[1])
        for e in workspace.time_entries
        if (m := REFERENCE.search(e.description))
    }
    assert referenced & {(r.type_key, r.public_id) for r in workspace.deleted_refs}


def test_descriptions_include_edge_cases(workspace: Workspace) -> None:
    descriptions = [e.description for e in workspace.time_entries]

    assert "" in descriptions
    assert any(len(d) >= 1500 for d in descriptions)
    assert any(not d.isascii() for d in descriptions)
    assert any(any("\u0400" <= ch <= "\u04ff" for ch in d) for d in descriptions)
    assert any(d and not REFERENCE.search(d) for d in descriptions)


def test_some_entries_cross_midnight(workspace: Workspace) -> None:
    zones = {u.id: ZoneInfo(u.timezone) for u in workspace.toggl_users}

    def crosses_local_midnight(entry: TimeEntryRecord) -> bool:
        zone = zones[entry.user_id]
        return entry.start.astimezone(zone).date() != entry.stop.astimezone(zone).date()

    assert any(crosses_local_midnight(e) for e in workspace.time_entries)
    assert any(e.start.date() != e.stop.date() for e in workspace.time_entries)


def test_entries_are_consistent_utc_records(workspace: Workspace) -> None:
    user_ids = {u.id for u in workspace.toggl_users}
    project_ids = {p.id for p in workspace.toggl_projects}

    assert len({e.id for e in workspace.time_entries}) == len(workspace.time_entries)
    for entry in workspace.time_entries:
        assert entry.start.tzinfo is UTC
        assert entry.seconds == (entry.stop - entry.start).total_seconds() > 0
        assert entry.at >= entry.stop
        assert entry.user_id in user_ids
        assert entry.project_id is None or entry.project_id in project_ids


def test_entries_fall_in_local_working_hours(workspace: Workspace) -> None:
    zones = {u.id: ZoneInfo(u.timezone) for u in workspace.toggl_users}
    local_hours = Counter(e.start.astimezone(zones[e.user_id]).hour for e in workspace.time_entries)

    daytime = sum(count for hour, count in local_hours.items() if 6 <= hour < 21)
    assert daytime / len(workspace.time_entries) > 0.95


def test_users_span_time_zones_and_some_have_no_entries(workspace: Workspace) -> None:
    assert len({u.timezone for u in workspace.toggl_users}) >= 3
    counts = workspace.entry_count_by_user()
    assert any(count == 0 for count in counts.values())
    assert counts[workspace.me.id] > 0


def test_utc_days_differ_from_local_days() -> None:
    workspace = generate_workspace(WorkspaceSpec(users=40, days=3))
    first_day = date(2026, 11, 16)

    assert any(e.start.date() == first_day - timedelta(days=1) for e in workspace.time_entries)


def test_every_type_has_entities_with_real_field_names(workspace: Workspace) -> None:
    assert set(workspace.fibery_entities) == SCRUM_AND_PRODUCT_TYPES
    for type_key, entities in workspace.fibery_entities.items():
        layout = LAYOUTS[type_key]
        assert entities
        public_ids = [e["fibery/public-id"] for e in entities]
        assert len(set(public_ids)) == len(public_ids)
        for entity in entities:
            assert entity["fibery/public-id"].isdigit()
            assert entity[layout.name_field]
            assert ("workflow/state" in entity) == layout.workflow
            assert ("assignments/assignees" in entity) == layout.assignments
            assert ("comments/comments" in entity) == layout.comments
            if layout.workflow:
                assert entity["workflow/state"]["enum/name"]
            if layout.description_field:
                secret = entity[layout.description_field]["Collaboration~Documents/secret"]
                assert secret in workspace.documents
            for comment in entity.get("comments/comments", []):
                assert comment["comment/document-secret"] in workspace.documents
                assert comment["comment/author"]["user/name"]


def test_types_differ_in_mixins_and_name_spelling(workspace: Workspace) -> None:
    assert workspace.fibery_entities["Scrum/Task"][0]["Scrum/Name"]
    assert workspace.fibery_entities["Product/Feature"][0]["Product/name"]
    assert "Product/Name" not in workspace.fibery_entities["Product/Feature"][0]
    assert "workflow/state" not in workspace.fibery_entities["Scrum/Build"][0]
    assert "comments/comments" not in workspace.fibery_entities["Scrum/Chore"][0]


def test_type_specific_fields(workspace: Workspace) -> None:
    task = workspace.fibery_entities["Scrum/Task"][0]
    bug = workspace.fibery_entities["Scrum/Bug"][0]
    feature = workspace.fibery_entities["Product/Feature"][0]

    assert isinstance(task["Scrum/Estimate"], int | float)
    assert task["Scrum/Sprint"]["Scrum/Name"].startswith("Sprint ")
    assert bug["Scrum/Severity"]["enum/name"] in {"Critical", "Major", "Minor"}
    assert isinstance(bug["Scrum/Steps to reproduce"], str)
    assert workspace.fibery_entities["Scrum/Build"][0]["Scrum/Version"]
    assert workspace.fibery_entities["Scrum/Feature"][0]["Scrum/Release"]["Scrum/Name"]
    assert feature["Product/Priority"]["enum/name"]
    assert feature["Product/Planned End"] > feature["Product/Planned Start"]


def test_assignees_usually_match_the_toggl_user_but_not_always(workspace: Workspace) -> None:
    toggl_emails = {u.email for u in workspace.toggl_users}
    assignees = [
        a["user/email"]
        for entities in workspace.fibery_entities.values()
        for e in entities
        for a in e.get("assignments/assignees", [])
    ]
    known = sum(1 for email in assignees if email in toggl_emails)

    assert 0.6 < known / len(assignees) < 1.0
    assert any(not e["assignments/assignees"] for e in workspace.fibery_entities["Scrum/Task"])


def test_document_secrets_are_unique(workspace: Workspace) -> None:
    secrets = [
        e[field]["Collaboration~Documents/secret"]
        for key, entities in workspace.fibery_entities.items()
        if (field := LAYOUTS[key].description_field)
        for e in entities
    ] + [
        c["comment/document-secret"]
        for entities in workspace.fibery_entities.values()
        for e in entities
        for c in e.get("comments/comments", [])
    ]
    assert len(secrets) == len(set(secrets)) == len(workspace.documents)


def test_tiny_workspace_still_generates() -> None:
    workspace = generate_workspace(WorkspaceSpec(users=1, days=1))

    assert len(workspace.toggl_users) == 1
    assert workspace.time_entries or workspace.spec.start_date.weekday() >= 5


@pytest.mark.parametrize(
    "kwargs", [{"users": 0}, {"days": 0}, {"matched_share": 1.5}, {"deleted_share": -0.1}]
)
def test_spec_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"workspace|fractions"):
        WorkspaceSpec(**kwargs)  # type: ignore[arg-type]
