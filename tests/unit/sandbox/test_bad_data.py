"""Bad data on request: Toggl's ``bad_rows`` and Fibery's ``extra_comments``."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from volt_agent.domain.models import FetchStatistics
from volt_agent.sandbox import (
    FiberySimulatorOptions,
    TogglSimulatorOptions,
    Workspace,
    create_fibery_app,
    create_toggl_app,
)
from volt_agent.sandbox._bad_data import BAD_ROW_KINDS
from volt_agent.sources.toggl import add_statistics, flatten_rows

from ._helpers import fibery_client, toggl_client
from .test_toggl_sim import END, START, entries_between, walk

FIRST, LAST = date.fromisoformat(START), date.fromisoformat(END)


def in_range(workspace: Workspace) -> list[int]:
    """The entries on the range's days in their creators' time zones."""
    return entries_between(workspace, FIRST, LAST)


@pytest.mark.parametrize("grouped", [False, True])
async def test_bad_rows_are_served_once_and_an_entry_repeats_across_pages(
    workspace: Workspace, grouped: bool
) -> None:
    app = create_toggl_app(workspace, TogglSimulatorOptions(bad_rows=True))
    body = {"start_date": START, "end_date": END, "page_size": 100, "grouped": grouped}
    async with toggl_client(app) as client:
        rows, pages = await walk(client, workspace, body)
    assert pages >= 3

    seen: set[int] = set()
    total = FetchStatistics()
    for start in range(0, len(rows), 37):  # any split: duplicates are found across calls
        _, stats = flatten_rows(rows[start : start + 37], seen)
        total = add_statistics(total, stats)
    expected = in_range(workspace)
    wanted: dict[str, int] = {}
    for counter in BAD_ROW_KINDS.values():
        wanted[counter] = wanted.get(counter, 0) + 1
    assert total.malformed_rows_dropped == wanted["malformed_rows_dropped"] == 4
    assert total.null_descriptions == 1
    assert total.negative_durations_dropped == total.running_entries_dropped == 1
    assert total.duplicates_dropped == pages - 1  # one repeated entry per page boundary
    assert total.entries_kept == len(expected) + 1  # the null-description entry is valid
    assert set(expected) <= seen


async def test_a_search_for_other_users_gets_no_bad_rows(
    workspace: Workspace,
) -> None:
    app = create_toggl_app(workspace, TogglSimulatorOptions(bad_rows=True))
    counts = workspace.entry_count_by_user()
    other = next(u.id for u in workspace.toggl_users[1:] if counts[u.id])
    body: dict[str, Any] = {"start_date": START, "end_date": END, "user_ids": [other]}
    async with toggl_client(app) as client:
        rows, _ = await walk(client, workspace, body | {"page_size": 200})
    kept, stats = flatten_rows(rows, set())
    assert stats.malformed_rows_dropped == stats.null_descriptions == 0
    assert {e.user_id for e in kept} == {other}


async def test_without_the_option_nothing_changes(workspace: Workspace) -> None:
    body = {"start_date": START, "end_date": END, "page_size": 100}
    async with toggl_client(create_toggl_app(workspace)) as client:
        rows, _ = await walk(client, workspace, body)
    kept, stats = flatten_rows(rows, set())
    assert sorted(e.id for e in kept) == sorted(in_range(workspace))
    assert stats.duplicates_dropped == stats.malformed_rows_dropped == 0


async def test_extra_comments_are_queryable_with_their_documents(workspace: Workspace) -> None:
    target = workspace.fibery_entities["Scrum/Bug"][0]
    public_id = target["fibery/public-id"]
    before = len(target["comments/comments"])
    options = FiberySimulatorOptions(extra_comments=(("Scrum/Bug", public_id, 2500),))
    query = {
        "q/from": "Scrum/Bug",
        "q/select": {
            "public_id": "fibery/public-id",
            "comments": {
                "q/from": "comments/comments",
                "q/select": {"secret": "comment/document-secret"},
                "q/limit": 5000,
            },
        },
        "q/where": ["=", ["fibery/public-id"], "$id"],
        "q/limit": 1,
    }
    command = {
        "command": "fibery.entity/query",
        "args": {"query": query, "params": {"$id": public_id}},
    }
    async with fibery_client(create_fibery_app(workspace, options)) as client:
        answer = (await client.post("/api/commands", json=[command])).json()
        [row] = answer[0]["result"]
        secrets = [c["secret"] for c in row["comments"]][-3:]
        documents = await client.post(
            "/api/documents/commands",
            params={"format": "md"},
            json={"command": "get-documents", "args": [{"secret": s} for s in secrets]},
        )
    assert len(row["comments"]) == before + 2500
    assert [d["secret"] for d in documents.json()] == secrets
    assert "comment 2500 of 2500" in documents.json()[-1]["content"]
    assert len(target["comments/comments"]) == before  # the shared workspace is untouched
