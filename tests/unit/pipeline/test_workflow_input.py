"""The workflow input carries only what the workflow uses; older inputs still load."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path

from volt_agent.config import Settings
from volt_agent.pipeline.service import (
    RUN_OWNED,
    WORKER_OWNED,
    is_run_task_queue,
    no_worker_notice,
    prepare_run,
    run_task_queue,
)
from volt_agent.pipeline.types import PipelineInput, RunRef, WorkflowOptions
from volt_agent.schedules.workflow import ScheduledPipelineInput

FIXTURE = Path(__file__).parents[2] / "fixtures" / "pipeline_history.json"


def recorded_input() -> dict[str, object]:
    """The input of the recorded history: written when the input held the whole ``config``."""
    events = json.loads(FIXTURE.read_text())["events"]
    started = events[0]["workflowExecutionStartedEventAttributes"]
    data: dict[str, object] = json.loads(base64.b64decode(started["input"]["payloads"][0]["data"]))
    return data


def test_the_input_holds_no_storage_root_and_no_settings(tmp_path: Path) -> None:
    settings = Settings().model_copy(update={"output_dir": tmp_path / "secret-root"})
    params = prepare_run(settings, start_date="2026-11-16", end_date="2026-11-22")
    dumped = params.model_dump(mode="json")
    assert set(dumped) == {"start_date", "end_date", "users", "start_from", "run_id", "options"}
    assert "secret-root" not in params.model_dump_json()
    assert set(dumped["options"]) == {
        "workflow_timeout_seconds",
        "retry",
        "reports",
        "api_queues",
        "deliver",
    }
    assert dumped["options"]["deliver"] == []  # opt-in: channel names only, never settings
    assert "output_dir" not in RunRef.model_fields


def test_options_come_from_the_run_settings() -> None:
    settings = Settings.model_validate(
        {
            "temporal": {"workflow_timeout_seconds": 900},
            "retry": {"maximum_attempts": 2, "heartbeat_timeout_seconds": 7},
            "reports": {"users_per_activity": 3},
        }
    )
    options = WorkflowOptions.from_settings(settings)
    assert options.workflow_timeout_seconds == 900
    assert (options.retry.maximum_attempts, options.retry.heartbeat_timeout_seconds) == (2, 7)
    assert options.reports.users_per_activity == 3


def test_an_old_input_with_the_whole_config_still_loads() -> None:
    old = recorded_input()
    assert "config" in old
    assert "options" not in old
    params = PipelineInput.model_validate(old)
    assert params.run_id == "replay-fixture"
    config = old["config"]
    assert isinstance(config, dict)
    retry = config["retry"]
    assert params.options.retry.model_dump(include=set(retry)) == retry
    assert params.options.reports.model_dump() == config["reports"]
    assert params.options.workflow_timeout_seconds == config["temporal"]["workflow_timeout_seconds"]


def test_unknown_keys_of_newer_or_older_code_are_ignored() -> None:
    params = PipelineInput.model_validate(
        {
            "start_date": "2026-11-16",
            "end_date": "2026-11-22",
            "run_id": "r",
            "options": {"retry": {"maximum_attempts": 3, "renamed_key": 1}, "future": True},
            "removed_field": "x",
        }
    )
    assert params.start_date == date(2026, 11, 16)
    assert params.options.retry.maximum_attempts == 3
    assert RunRef.model_validate({"output_dir": "/elsewhere", "run_id": "r"}).run_id == "r"


def test_an_old_schedule_action_still_loads() -> None:
    config = recorded_input()["config"]
    old = {"schedule": "weekly", "window": "last-week", "timezone": "UTC", "config": config}
    params = ScheduledPipelineInput.model_validate(old)
    assert params.options.retry.initial_interval_seconds == 0.2
    assert "config" not in params.model_dump()


def test_per_run_task_queues_are_recognised() -> None:
    queue = run_task_queue("2026-11-30-12-00-00")
    assert queue == "volt-agent-run-2026-11-30-12-00-00"
    assert is_run_task_queue(queue)
    assert not is_run_task_queue(Settings().temporal.task_queue)


def test_the_no_worker_notice_names_both_sides() -> None:
    line = no_worker_notice(Path("x.yaml"))
    assert "\n" not in line
    assert WORKER_OWNED in line
    assert RUN_OWNED in line
    assert "x.yaml" in line
