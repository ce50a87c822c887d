"""Which failed enrichment batches the run survives, and the one line it records for them."""

from __future__ import annotations

import pytest
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    RetryState,
    TimeoutError,
    TimeoutType,
)

from volt_agent.pipeline.workflow import _batch_failure, _degradable


def failed(
    cause: BaseException, retry_state: RetryState = RetryState.NON_RETRYABLE_FAILURE
) -> ActivityError:
    error = ActivityError(
        "Activity task failed",
        scheduled_event_id=5,
        started_event_id=6,
        identity="worker",
        activity_type="enrich_scrum_task",
        activity_id="7",
        retry_state=retry_state,
    )
    error.__cause__ = cause
    return error


def app_error(message: str, type_: str) -> ApplicationError:
    """As an activity's ``classified`` error arrives: wrapping the original error's type."""
    outer = ApplicationError(message, type=type_)
    outer.__cause__ = ApplicationError(message, type=type_)
    return outer


@pytest.mark.parametrize(
    "type_",
    [
        "RetryableSourceError",
        "RateLimitedError",
        "BadRequestError",
        "ResponseFormatError",
        "QuotaExceededError",
        "KeyError",
    ],
)
def test_source_failures_and_exhausted_retries_are_degraded(type_: str) -> None:
    err = failed(app_error("Fibery: HTTP 503 from https://x.fibery.io", type_))
    assert _degradable(err)
    assert _batch_failure(err) == "Fibery: HTTP 503 from https://x.fibery.io"


@pytest.mark.parametrize(
    "type_",
    ["ConfigError", "UserInputError", "AuthError", "FeatureNotEnabledError", "StorageError"],
)
def test_configuration_token_and_disk_errors_fail_the_run(type_: str) -> None:
    assert not _degradable(failed(app_error("fix it", type_)))


def test_a_cancelled_batch_is_never_degraded() -> None:
    assert not _degradable(failed(CancelledError("cancelled"), RetryState.CANCEL_REQUESTED))


def test_a_schedule_to_close_timeout_names_the_last_error() -> None:
    timeout = TimeoutError(
        "activity ScheduleToClose timeout",
        type=TimeoutType.SCHEDULE_TO_CLOSE,
        last_heartbeat_details=[],
    )
    timeout.__cause__ = app_error(
        "Fibery: HTTP 502 from https://x.fibery.io", "RetryableSourceError"
    )
    err = failed(timeout, RetryState.TIMEOUT)
    assert _degradable(err)
    assert _batch_failure(err) == (
        "activity ScheduleToClose timeout; last error: Fibery: HTTP 502 from https://x.fibery.io"
    )


def test_a_bare_timeout_is_its_own_message() -> None:
    timeout = TimeoutError(
        "activity Heartbeat timeout",
        type=TimeoutType.HEARTBEAT,
        last_heartbeat_details=[],
    )
    err = failed(timeout, RetryState.TIMEOUT)
    assert _degradable(err)
    assert _batch_failure(err) == "activity Heartbeat timeout"
