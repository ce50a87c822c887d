"""Which runs carry the API task queues, and each long-lived worker's share of the limits."""

from __future__ import annotations

import pytest

from volt_agent.config import Settings
from volt_agent.pipeline.service import input_for_queue, run_task_queue
from volt_agent.pipeline.types import PipelineInput, WorkflowOptions
from volt_agent.pipeline.worker import api_share


def settings(**api_queues: object) -> Settings:
    return Settings.model_validate(
        {
            "temporal": {"task_queue": "team-a"},
            "toggl": {"requests_per_second": 2},
            "fibery": {"requests_per_second": 3},
            "api_queues": api_queues,
        }
    )


def test_queue_names_follow_the_shared_queue_unless_named() -> None:
    queues = WorkflowOptions.from_settings(settings()).api_queues
    assert queues is not None
    assert (queues.toggl, queues.fibery) == ("team-a-toggl", "team-a-fibery")
    named = WorkflowOptions.from_settings(settings(toggl_task_queue="t", fibery_task_queue="f"))
    assert named.api_queues is not None
    assert (named.api_queues.toggl, named.api_queues.fibery) == ("t", "f")
    assert WorkflowOptions.from_settings(settings(enabled=False)).api_queues is None


def test_only_runs_on_the_shared_queue_keep_the_api_queues() -> None:
    params = PipelineInput(
        start_date="2026-11-16",
        end_date="2026-11-22",
        run_id="r1",
        options=WorkflowOptions.from_settings(settings()),
    )
    assert input_for_queue(params, "team-a").options.api_queues is not None
    own = input_for_queue(params, run_task_queue("r1"))
    assert own.options.api_queues is None
    assert own.options.retry == params.options.retry


def test_options_of_an_older_input_have_no_api_queues() -> None:
    old = {"start_date": "2026-11-16", "end_date": "2026-11-22", "run_id": "r", "options": {}}
    assert PipelineInput.model_validate(old).options.api_queues is None
    newer = {**old, "options": {"api_queues": {"toggl": "t", "fibery": "f", "later": 1}}}
    assert PipelineInput.model_validate(newer).options.api_queues is not None


def test_each_of_n_workers_gets_a_share_of_each_per_token_limit() -> None:
    shared = api_share(settings(workers=4))
    assert shared.toggl.requests_per_second == pytest.approx(0.5 * 0.95)
    assert shared.fibery.requests_per_second == pytest.approx(0.75 * 0.95)
    assert 4 * shared.toggl.requests_per_second < 2  # the fleet keeps headroom under the limit
    assert api_share(settings(workers=4, enabled=False)).toggl.requests_per_second == 2
    assert api_share(settings()).fibery.requests_per_second == 3
