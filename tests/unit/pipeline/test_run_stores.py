"""Enrichment data shared between activities is keyed by the workflow run (review C3).

``stale_store``: a worker that served run X once kept the aggregate and entity index keyed
by the run folder's path, so after a re-run of X (new files) it wrote person reports and
``enriched_data.json`` from the old ones (3600 s while the file said 7200 s).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from volt_agent.config import Secrets, Settings
from volt_agent.domain.models import (
    EnrichedData,
    EnrichedEntity,
    MatchedEntity,
    TogglAggregated,
    UserAggregate,
)
from volt_agent.pipeline.activities import PipelineActivities
from volt_agent.pipeline.enrichment_store import EnrichmentStore, RunStores
from volt_agent.pipeline.types import PersonReportInput, RunRef
from volt_agent.reporting.writer import TemplateReportWriter
from volt_agent.storage.run_folder import ENRICHED_DATA, TOGGL_AGGREGATED, RunFolder

TYPE = "Scrum/Task"


def write_run(folder: RunFolder, user_id: int, seconds: int) -> None:
    """The files a run leaves before the person reports: aggregate, plan, one batch."""
    ref = MatchedEntity(
        entity_id="7",
        database="Scrum",
        entity_type="Task",
        name="#7",
        seconds=seconds,
        entry_count=1,
    )
    user = UserAggregate(
        user_id=user_id,
        user_name=f"User {user_id}",
        total_seconds=seconds,
        matched_seconds=seconds,
        unmatched_seconds=0,
        entry_count=1,
        matched=[ref],
    )
    folder.save(
        TOGGL_AGGREGATED,
        TogglAggregated(start_date=date(2026, 11, 16), end_date=date(2026, 11, 16), users=[user]),
    )
    store = EnrichmentStore(folder)
    store.write_plan({TYPE: ["7"]}, batch_size=10)
    entity = EnrichedEntity(type_key=TYPE, public_id="7", status="found", name=f"task {seconds}")
    store.save_batch(TYPE, 0, [entity])


def env_of(workflow_run_id: str) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, workflow_id="volt-agent-run-x", workflow_run_id=workflow_run_id
    )
    return env


def worker(output_dir: Path) -> PipelineActivities:
    settings = Settings().model_copy(update={"output_dir": output_dir})
    return PipelineActivities(settings, Secrets(), TemplateReportWriter())


async def saved_seconds(activities: PipelineActivities, run: RunRef, workflow_run: str) -> int:
    await env_of(workflow_run).run(activities.save_enriched_data, run)
    data = EnrichedData.model_validate_json(
        (activities._folder(run).file(ENRICHED_DATA)).read_bytes()
    )
    assert [e.name for e in data.entities] == [f"task {data.aggregated.users[0].total_seconds}"]
    return data.aggregated.users[0].total_seconds


async def test_a_rerun_of_the_same_run_id_on_one_worker_sees_the_new_files(
    tmp_path: Path,
) -> None:
    folder = RunFolder(tmp_path, "x")
    run = RunRef(run_id="x")
    activities = worker(tmp_path)
    write_run(folder, user_id=1, seconds=3600)
    await env_of("run-1").run(
        activities.generate_person_reports, PersonReportInput(run=run, user_ids=[1])
    )
    assert await saved_seconds(activities, run, "run-1") == 3600

    write_run(folder, user_id=2, seconds=7200)  # the re-run, never through cleanup here
    reports = await env_of("run-2").run(
        activities.generate_person_reports, PersonReportInput(run=run, user_ids=[2])
    )
    assert reports.paths == ["reports/individual/user-2-2.md"]
    assert await saved_seconds(activities, run, "run-2") == 7200


async def test_two_workers_each_see_the_rerun(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "x")
    run = RunRef(run_id="x")
    worker_a, worker_b = worker(tmp_path), worker(tmp_path)
    write_run(folder, user_id=1, seconds=3600)
    assert await saved_seconds(worker_a, run, "run-1") == 3600
    assert await saved_seconds(worker_b, run, "run-1") == 3600
    # run 2: worker A cleans up and finishes the run; B only writes a person report
    await env_of("run-2").run(worker_a.cleanup_fibery_stage, run)
    write_run(folder, user_id=2, seconds=7200)
    await env_of("run-2").run(
        worker_b.generate_person_reports, PersonReportInput(run=run, user_ids=[2])
    )
    assert await saved_seconds(worker_b, run, "run-2") == 7200
    assert await saved_seconds(worker_a, run, "run-2") == 7200


async def test_a_run_that_ends_leaves_no_entry(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "x")
    run = RunRef(run_id="x")
    activities = worker(tmp_path)
    write_run(folder, user_id=1, seconds=3600)
    await env_of("run-1").run(
        activities.generate_person_reports, PersonReportInput(run=run, user_ids=[1])
    )
    assert len(activities._stores) == 1
    await saved_seconds(activities, run, "run-1")
    assert len(activities._stores) == 1  # kept for the team report that follows
    (store,) = (e.store for e in activities._stores._entries.values())
    people = store.slices().head.users
    await env_of("run-1").run(activities.generate_team_report, run)
    assert len(activities._stores) == 0  # the run's last report is written: the cache is freed
    assert people == []  # released a person at a time, not left to one free on the loop
    assert store.slices().head.users[0].user_id == 1  # a released store reads the files again


def test_a_released_store_holds_nothing_and_reads_the_files_again(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "x")
    write_run(folder, user_id=1, seconds=3600)
    store = EnrichmentStore(folder)
    people, index = store.slices().head.users, store.index()
    assert len(people) == 1
    assert len(index) == 1
    store.release()
    assert people == []
    assert index == {}
    assert [u.user_id for u in store.slices().head.users] == [1]
    assert list(store.index()) == [(TYPE, "7")]


def test_idle_entries_expire_and_the_count_is_bounded(tmp_path: Path) -> None:
    now = [0.0]
    stores = RunStores(idle_seconds=60, max_runs=2, clock=lambda: now[0])
    folders = [RunFolder(tmp_path, f"r{i}") for i in range(3)]
    first = stores.get(("w", "1"), folders[0])
    assert stores.get(("w", "1"), folders[0]) is first
    now[0] = 30
    stores.get(("w", "2"), folders[1])
    stores.get(("w", "3"), folders[2])  # the bound pushes out the least recently used
    assert len(stores) == 2
    now[0] = 80
    assert stores.get(("w", "1"), folders[0]) is not first  # reloads from the files
    now[0] = 100  # run 3 was last used at 30, run 1 at 80
    stores.expire()
    assert len(stores) == 1
    now[0] = 150
    stores.expire()
    assert len(stores) == 0


async def test_a_failed_run_entry_is_dropped_by_the_timer(tmp_path: Path) -> None:
    stores = RunStores(idle_seconds=0.05)
    stores.get(("w", "failed"), RunFolder(tmp_path, "f"))
    assert len(stores) == 1
    await asyncio.sleep(0.2)  # no further activity of that run, or of any other
    assert len(stores) == 0


@pytest.mark.parametrize("max_runs", [1, 3])
def test_the_bound_holds_for_many_runs(tmp_path: Path, max_runs: int) -> None:
    stores = RunStores(max_runs=max_runs)
    for i in range(20):
        stores.get(("w", str(i)), RunFolder(tmp_path, "r"))
    assert len(stores) == max_runs


def test_the_comparison_with_the_previous_run_is_made_once_per_store(tmp_path: Path) -> None:
    """Person reports come in groups of ``users_per_activity``: each group used to read the
    previous run's whole ``enriched_data.json`` again."""
    folder = RunFolder(tmp_path, "x")
    write_run(folder, user_id=1, seconds=3600)
    store = EnrichmentStore(folder)
    first = store.trends()
    assert store.trends() is first
    assert EnrichmentStore(folder).trends() is not first
