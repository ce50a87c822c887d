"""Bad data from both APIs through the whole pipeline: handled, counted, never a crash.

The Toggl simulator mixes rows with missing fields, a null description, a negative and a
running entry into the report and repeats an entry across every page boundary; the Fibery
simulator gives two referenced entities thousands of comments. The run must complete, keep
exactly the valid entries, and say in ``run_metadata.json`` what it set aside and why.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.integration.pipeline_env import local_week, pipeline_env, workspace
from volt_agent.domain.models import EnrichedData, RawTogglData, TogglAggregated
from volt_agent.sandbox import FiberySimulatorOptions, TogglSimulatorOptions
from volt_agent.sandbox._bad_data import (
    BAD_ID_BASE,
    NULL_DESCRIPTION_SECONDS,
    RUNNING_TIMER_SECONDS,
)
from volt_agent.storage.run_folder import (
    ENRICHED_DATA,
    RAW_TOGGL,
    TEAM_SUMMARY,
    TOGGL_AGGREGATED,
)

pytestmark = pytest.mark.integration

REFERENCE = re.compile(r"#(\d+) \[([^\]]+)\] \[([^\]]+)\] \[[^\]]+\]$")
FLOOD = 3000
MAX_COMMENTS = 50


def referenced_in_week() -> list[tuple[str, str]]:
    """Served (not deleted) entities that entries of the week point at, Tasks and Bugs first."""
    ws = workspace()
    week = local_week(ws)
    deleted = {(d.type_key, d.public_id) for d in ws.deleted_refs}
    found: dict[tuple[str, str], None] = {}
    for entry in ws.time_entries:
        match = REFERENCE.search(entry.description)
        if match and entry.id in week:
            key = (f"{match.group(2)}/{match.group(3)}", match.group(1))
            if key not in deleted:
                found[key] = None
    keys = sorted(found, key=lambda k: k[0] not in ("Scrum/Task", "Scrum/Bug"))
    return keys[:2]


@pytest.mark.timeout(180)
@pytest.mark.parametrize(
    "totals_count_running", [False, True], ids=["totals-without-running", "totals-with-running"]
)
async def test_bad_rows_and_comment_floods_are_counted_not_fatal(
    temporal_client: Client, tmp_path: Path, totals_count_running: bool
) -> None:
    flooded = referenced_in_week()
    toggl = TogglSimulatorOptions(bad_rows=True, totals_count_running=totals_count_running)
    fibery = FiberySimulatorOptions(extra_comments=tuple((t, i, FLOOD) for t, i in flooded))
    async with pipeline_env(
        temporal_client, tmp_path, toggl=toggl, fibery=fibery, toggl__page_size=50
    ) as env:
        folder, meta = await env.run()
    assert meta.status == "completed", meta.error
    ws = env.workspace
    week_ids = local_week(ws)
    week = [e for e in ws.time_entries if e.id in week_ids]

    fetched = meta.statistics["toggl"]
    stats = fetched["statistics"]
    assert fetched["pages"] >= 4
    assert stats["malformed_rows_dropped"] == 4  # no time_entries, empty, no start, no user
    assert stats["null_descriptions"] == 1
    assert stats["negative_durations_dropped"] == 1
    assert stats["running_entries_dropped"] == 1
    assert stats["duplicates_dropped"] == fetched["pages"] - 1  # one per page boundary
    assert stats["entries_kept"] == len(week) + 1 == fetched["entries"]
    assert fetched["dropped"] == stats["rows_received"] - stats["entries_kept"]
    completeness = fetched["completeness"]
    surplus = RUNNING_TIMER_SECONDS if totals_count_running else 0
    assert completeness["expected_seconds"] - completeness["fetched_seconds"] == surplus
    assert (completeness["agreed"], completeness["accepted"]) == (not surplus, True)
    assert completeness["attempts"] == 1  # a running timer's surplus is no reason to refetch
    running_warnings = [w for w in meta.warnings if w.startswith("toggl_running_timers:")]
    assert len(running_warnings) == (1 if totals_count_running else 0)
    if running_warnings:
        assert f"by {RUNNING_TIMER_SECONDS} s" in running_warnings[0]

    raw = folder.load(RAW_TOGGL, RawTogglData)
    ids = [e.id for e in raw.entries]
    assert len(ids) == len(set(ids))
    synthetic = [e for e in raw.entries if e.id >= BAD_ID_BASE]
    assert [(e.description, e.seconds) for e in synthetic] == [("", NULL_DESCRIPTION_SECONDS)]
    assert set(ids) - {e.id for e in synthetic} == {e.id for e in week}
    aggregated = folder.load(TOGGL_AGGREGATED, TogglAggregated)
    assert aggregated.statistics.total_seconds == (
        sum(e.seconds for e in week) + NULL_DESCRIPTION_SECONDS
    )

    enrichment = meta.statistics["enrichment"]
    entities = {
        (e.type_key, e.public_id): e for e in folder.load(ENRICHED_DATA, EnrichedData).entities
    }
    for key in flooded:
        entity = entities[key]
        assert entity.status == "found"
        assert entity.comment_count >= FLOOD
        assert len(entity.comments) == MAX_COMMENTS
        assert entity.comments[-1].text.endswith(f"(comment {FLOOD} of {FLOOD})")  # newest kept
    truncated = sum(max(0, e.comment_count - len(e.comments)) for e in entities.values())
    assert enrichment["comments_truncated"] == truncated >= 2 * (FLOOD - MAX_COMMENTS)
    assert enrichment["entities_with_truncated_comments"] >= 2
    assert enrichment["comments"] == enrichment["comments_kept"] + truncated
    assert folder.exists(TEAM_SUMMARY)
