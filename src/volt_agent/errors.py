"""The error tree. Errors are classified once, where they are raised; callers only branch on class.

    VoltAgentError               base of everything volt-agent raises on purpose
    ├── UserInputError           bad dates, run ids, user emails, CLI options (exit code 2)
    ├── ConfigError              unreadable or invalid YAML/env settings (exit code 2)
    └── SourceError              a Toggl or Fibery call went wrong (``source`` names which)
        ├── RetryableSourceError worth trying later: 429, 5xx, timeouts, dropped connections
        │   ├── RateLimitedError 429 outlived the client's own retries (``retry_after`` s)
        │   └── QuotaWaitError   402: the hourly request quota is used up until ``resets_in`` s
        └── FatalSourceError     trying again cannot help
            ├── AuthError            401/403: token missing, wrong or without access
            ├── QuotaExceededError   a quota that waiting cannot refill (e.g. an LLM bill)
            ├── FeatureNotEnabledError 402: the workspace's plan lacks a feature the call needs
            ├── BadRequestError      400/404/422: the request itself is wrong
            └── ResponseFormatError  the answer is not the JSON shape the API documents

Activities map ``FatalSourceError``/``UserInputError``/``ConfigError`` to non-retryable Temporal
application errors; ``RetryableSourceError`` is left to the activity retry policy, and the
waits ``RateLimitedError``/``QuotaWaitError`` name become its ``next_retry_delay``.
Messages are one line and never contain a token.
"""

from __future__ import annotations


class VoltAgentError(Exception):
    """Base class; ``str(error)`` is a one-line message meant for the user."""


class UserInputError(VoltAgentError):
    """The user asked for something that cannot be done as asked."""


class ConfigError(VoltAgentError):
    """Settings are missing or invalid."""


class SourceError(VoltAgentError):
    """A call to an external API failed."""

    def __init__(self, source: str, message: str, *, status_code: int | None = None) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.status_code = status_code


class RetryableSourceError(SourceError):
    """Transient: the same call may succeed later."""


class RateLimitedError(RetryableSourceError):
    """The API kept answering 429."""

    def __init__(self, source: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(source, message, status_code=429)
        self.retry_after = retry_after


class QuotaWaitError(RetryableSourceError):
    """The hourly request quota is used up; it resets in ``resets_in`` seconds.

    A wait, not a failure: the activity ends its attempt and Temporal retries it after
    ``resets_in`` (``next_retry_delay``), so no worker sits idle through the wait.
    """

    def __init__(self, source: str, message: str, *, resets_in: float) -> None:
        super().__init__(source, message, status_code=402)
        self.resets_in = resets_in


class FatalSourceError(SourceError):
    """Permanent: retrying the same call cannot succeed."""


class AuthError(FatalSourceError):
    """The token is missing, wrong, or lacks access."""


class QuotaExceededError(FatalSourceError):
    """A quota is used up and waiting will not refill it (an hourly quota is ``QuotaWaitError``)."""

    def __init__(self, source: str, message: str, *, resets_in: float | None = None) -> None:
        super().__init__(source, message, status_code=402)
        self.resets_in = resets_in


class FeatureNotEnabledError(FatalSourceError):
    """HTTP 402 meaning "Workspace needs to have this feature enabled", not a used-up quota.

    ``endpoint`` names the call that needs the feature; waiting cannot help, only a plan with
    the feature (or an admin enabling it) can.
    """

    def __init__(self, source: str, message: str, *, endpoint: str) -> None:
        super().__init__(source, message, status_code=402)
        self.endpoint = endpoint


class BadRequestError(FatalSourceError):
    """The API refused the request as malformed or pointing at nothing."""


class ResponseFormatError(FatalSourceError):
    """The API answered with something that is not the documented JSON shape."""
