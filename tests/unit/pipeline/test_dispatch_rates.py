"""Temporal's server-side dispatch limits of the API queues: Toggl starts no faster than it
may be asked; Fibery batches start together so their queries can share requests."""

from __future__ import annotations

from volt_agent.config import Settings
from volt_agent.pipeline.worker import FIBERY_START_FACTOR, dispatch_rates


def test_defaults_follow_the_request_limits() -> None:
    settings = Settings.model_validate(
        {"toggl": {"requests_per_second": 1.0}, "fibery": {"requests_per_second": 3.0}}
    )
    assert dispatch_rates(settings) == (1.0, FIBERY_START_FACTOR * 3.0)
    assert settings.api_queues.max_concurrent_fibery == FIBERY_START_FACTOR


def test_configured_rates_win() -> None:
    settings = Settings.model_validate(
        {"api_queues": {"toggl_activities_per_second": 0.5, "fibery_activities_per_second": 2}}
    )
    assert dispatch_rates(settings) == (0.5, 2.0)
