"""Client HTTP settings shared by the client integration tests: fast backoff, few retries."""

from volt_agent.config import HttpSettings

FAST_HTTP = HttpSettings(
    timeout_seconds=10, backoff_initial_seconds=0.01, backoff_max_seconds=0.2, max_retries=3
)
RETRY_AFTER_HTTP = HttpSettings(
    timeout_seconds=10, backoff_initial_seconds=0.01, backoff_max_seconds=2.0, max_retries=3
)
"""For 429 tests: the simulator's ``Retry-After`` is 1 s, which must not exceed the max."""
