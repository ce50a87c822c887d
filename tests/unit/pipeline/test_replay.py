"""Replaying a recorded history catches non-deterministic changes to the workflow code.

When a change to ``TogglFiberyPipeline`` is deliberately incompatible (new commands in a
different order), runs already in flight would break: version the change with
``workflow.patched`` or, before any release, regenerate the fixture from a fresh run (a
4-user, 2-day sandbox run recorded with ``WorkflowHandle.fetch_history().to_json()``).
"""

from __future__ import annotations

from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from volt_agent.pipeline.workflow import TogglFiberyPipeline

FIXTURE = Path(__file__).parents[2] / "fixtures" / "pipeline_history.json"


async def test_recorded_pipeline_history_replays_deterministically() -> None:
    history = WorkflowHistory.from_json("toggl-fibery-replay-fixture", FIXTURE.read_text())
    replayer = Replayer(workflows=[TogglFiberyPipeline], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
