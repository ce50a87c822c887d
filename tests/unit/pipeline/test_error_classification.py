from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError

from volt_agent.errors import (
    AuthError,
    ConfigError,
    FeatureNotEnabledError,
    QuotaWaitError,
    RateLimitedError,
    RetryableSourceError,
    UserInputError,
    VoltAgentError,
)
from volt_agent.pipeline.activities import classified
from volt_agent.storage.atomic import StorageError


async def raise_(exc: Exception) -> None:
    raise exc


@pytest.mark.parametrize(
    "exc",
    [
        AuthError("Fibery", "token rejected", status_code=401),
        UserInputError("bad"),
        ConfigError("bad"),
        StorageError("disk full"),
        FeatureNotEnabledError("Toggl", "needs a feature", endpoint="totals"),
    ],
)
async def test_fatal_errors_are_non_retryable(exc: Exception) -> None:
    with pytest.raises(ApplicationError) as info:
        await classified(raise_)(exc)
    assert info.value.non_retryable
    assert info.value.type == type(exc).__name__
    assert info.value.message == str(exc)


@pytest.mark.parametrize(
    "exc", [RetryableSourceError("Toggl", "503"), VoltAgentError("something transient")]
)
async def test_transient_errors_are_left_to_the_retry_policy(exc: Exception) -> None:
    with pytest.raises(ApplicationError) as info:
        await classified(raise_)(exc)
    assert not info.value.non_retryable
    assert info.value.next_retry_delay is None


async def test_rate_limit_retry_after_becomes_the_next_retry_delay() -> None:
    with pytest.raises(ApplicationError) as info:
        await classified(raise_)(RateLimitedError("Toggl", "429", retry_after=7))
    assert not info.value.non_retryable
    assert info.value.next_retry_delay == timedelta(seconds=7)


async def test_a_used_up_quota_is_a_retryable_wait_until_its_reset() -> None:
    """However far the reset (here 50 min), the attempt is retried then, never failed."""
    with pytest.raises(ApplicationError) as info:
        await classified(raise_)(QuotaWaitError("Toggl", "quota used up", resets_in=3000))
    assert not info.value.non_retryable
    assert info.value.type == "QuotaWaitError"
    assert info.value.next_retry_delay == timedelta(seconds=3000)


async def test_unexpected_errors_pass_through() -> None:
    with pytest.raises(KeyError):
        await classified(raise_)(KeyError("x"))
