"""Replaying a recorded history catches non-deterministic changes to the workflow code.

The fixture is a completed 4-user, 2-day sandbox run recorded before ``options`` replaced
the whole settings in the input. It is never regenerated to make this test pass: when a
change to ``TogglFiberyPipeline`` issues different commands, runs already in flight would
break, so gate it with ``workflow.patched`` (docs/TEMPORAL.md, "Upgrading workers while
runs are in flight"). The newer fixtures are replayed by ``test_replay_histories.py``.
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
