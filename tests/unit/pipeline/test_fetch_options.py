"""The Toggl fetch's activity options: bounded by a time, never by a small attempt count."""

from datetime import timedelta

from volt_agent.config import RetrySettings, TemporalSettings
from volt_agent.pipeline.workflow import fetch_options


def test_the_fetch_retries_without_an_attempt_limit_within_its_schedule_to_close() -> None:
    retry = RetrySettings(maximum_attempts=5, fetch_schedule_to_close_seconds=3600)
    options = fetch_options(retry, workflow_timeout_seconds=14400)
    assert options["schedule_to_close_timeout"] == timedelta(hours=1)
    assert "start_to_close_timeout" not in options
    assert options["heartbeat_timeout"] == timedelta(seconds=retry.heartbeat_timeout_seconds)
    policy = options["retry_policy"]
    assert policy.maximum_attempts == 0
    assert "QuotaWaitError" not in (policy.non_retryable_error_types or [])
    assert "AuthError" in (policy.non_retryable_error_types or [])


def test_the_fetch_never_outlives_the_workflow() -> None:
    retry = RetrySettings(fetch_schedule_to_close_seconds=10800)
    options = fetch_options(retry, workflow_timeout_seconds=1800)
    assert options["schedule_to_close_timeout"] == timedelta(minutes=30)


def test_defaults_leave_the_fetch_hours_inside_the_workflow_timeout() -> None:
    assert RetrySettings().fetch_schedule_to_close_seconds == 3 * 3600
    assert TemporalSettings().workflow_timeout_seconds == 4 * 3600
