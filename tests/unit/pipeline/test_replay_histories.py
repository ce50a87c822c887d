"""Every recorded history in ``tests/fixtures/histories/`` replays against today's workflows.

The fixtures are real event histories (a completed run, failed runs, a cancelled run, a
start from the Fibery stage, a run with a degraded batch, a scheduled run's
``ScheduledPipeline`` parent and its child), recorded from a dev server with
``tests/fixtures/record_histories.py``; the README beside them names the commit.

They are NEVER re-recorded or edited to make this test pass. A failure here means the
workflow code now issues a different sequence of commands (activities, local activities,
timers, child workflows) than runs already in flight recorded: gate the change with
``workflow.patched(...)`` (later ``workflow.deprecate_patch``) or ship it as a new worker
deployment version (docs/TEMPORAL.md, "Upgrading workers while runs are in flight").
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from volt_agent.pipeline.workflow import TogglFiberyPipeline
from volt_agent.schedules.workflow import ScheduledPipeline

HISTORIES = Path(__file__).parents[2] / "fixtures" / "histories"
EXPECTED = {
    "cancelled",
    "completed",
    "degraded_batches",
    "failed_fibery_auth",
    "failed_toggl_auth",
    "fibery_start",
    "scheduled_child",
    "scheduled_parent",
}
"""Kept in step with the folder so a deleted fixture fails the test instead of vanishing."""


def _fixtures() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


def _load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())


def test_every_expected_fixture_is_present() -> None:
    assert {path.stem for path in _fixtures()} >= EXPECTED


@pytest.mark.parametrize("path", _fixtures(), ids=lambda path: path.stem)
async def test_recorded_history_replays(path: Path) -> None:
    history = _load(path)
    replayer = Replayer(
        workflows=[TogglFiberyPipeline, ScheduledPipeline], data_converter=pydantic_data_converter
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure!r}"
