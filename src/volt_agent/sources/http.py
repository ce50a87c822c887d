"""The one place per API for auth, rate limiting, retries and error mapping.

Every request to Toggl or Fibery goes through an ``ApiRequester``. It

* waits for the client-side rate limiter (a leaky bucket of ``requests_per_second``);
* retries transient faults — 429, 5xx, 408, timeouts, connection errors, dropped
  connections and malformed JSON on a 2xx — up to ``HttpSettings.max_retries`` times with
  exponential backoff and jitter, or exactly as long as the server's ``Retry-After`` says;
* treats a used-up hourly quota (402 with ``X-Toggl-Quota-Resets-In``, or an earlier answer's
  ``X-Toggl-Quota-Remaining: 0`` whose reset has not come yet: then nothing is sent) as a wait:
  waited here when the reset is at most ``max_quota_wait_seconds`` away (and within
  ``waits_at_most``), else ``QuotaWaitError`` with ``resets_in`` for the activity retry policy;
  a 402 whose body says a feature is missing ("Workspace needs to have this feature enabled")
  is ``FeatureNotEnabledError`` at once, whatever its headers;
* keeps every single wait (backoff, ``Retry-After``, quota) within ``waits_at_most`` when a
  caller set one (an activity: below its heartbeat timeout); a longer server-directed wait
  ends the request with an error that carries the wait instead;
* reads ``X-Toggl-Quota-Remaining`` / ``X-Toggl-Quota-Resets-In`` from every answer into
  ``RequestStats`` (the last values seen and the lowest remaining budget);
* maps everything else to the error tree of ``volt_agent.errors`` with a one-line message;
* counts requests (total and per endpoint label), 429s, 402s and retries in ``RequestStats``.

Tokens are ``SecretStr``: they are sent only by the ``httpx.Auth`` classes below and are
scrubbed from any text that could reach a message or a log line.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import math
import random
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, Self

import httpx
import pydantic_core
from aiolimiter import AsyncLimiter
from pydantic import SecretStr

from volt_agent.config import HttpSettings
from volt_agent.errors import (
    AuthError,
    BadRequestError,
    FatalSourceError,
    FeatureNotEnabledError,
    QuotaWaitError,
    RateLimitedError,
    ResponseFormatError,
    RetryableSourceError,
    SourceError,
)
from volt_agent.sources.parsing import api_message, duration_text, one_line, parse_retry_after
from volt_agent.tls import tls_context

logger = logging.getLogger(__name__)

SleepFn = Callable[[float], Awaitable[None]]
"""``asyncio.sleep``-compatible: waits the given number of seconds."""

USER_AGENT = "volt-agent"
QUOTA_RESETS_IN_HEADER = "X-Toggl-Quota-Resets-In"
QUOTA_REMAINING_HEADER = "X-Toggl-Quota-Remaining"
QUOTA_WINDOW_SECONDS = 3600.0
"""Toggl's quotas are per hour: the longest a used-up quota can take to reset."""

_WAIT_LIMIT: ContextVar[float] = ContextVar("volt_agent_http_wait_limit", default=math.inf)


@contextlib.contextmanager
def waits_at_most(seconds: float) -> Iterator[None]:
    """Within the block (this task and the tasks it starts), no single wait of a request is
    longer than ``seconds``: backoff is capped, and a longer ``Retry-After`` or quota reset
    ends the request with the error that carries it (``RateLimitedError.retry_after``,
    ``QuotaWaitError.resets_in``)."""
    token = _WAIT_LIMIT.set(min(seconds, _WAIT_LIMIT.get()))
    try:
        yield
    finally:
        _WAIT_LIMIT.reset(token)


def decode_json(content: bytes) -> Any:
    """A response body's JSON: pydantic-core's parser (a third cheaper than the standard
    library's on a 1000-row report page), the standard library's for what only it accepts
    (a lone surrogate escape); ``ValueError`` when it is not JSON."""
    try:
        return pydantic_core.from_json(content)
    except ValueError:
        return json.loads(content)


class _TokenAuth(httpx.Auth, ABC):
    """Sets the ``Authorization`` header from a ``SecretStr``; the token never shows in repr."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header(self._token.get_secret_value())
        yield request

    @abstractmethod
    def _header(self, token: str) -> str:
        """The ``Authorization`` header value for ``token``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(token=**********)"


class TogglAuth(_TokenAuth):
    """HTTP Basic with user = API token and password = the literal ``api_token``."""

    def _header(self, token: str) -> str:
        return "Basic " + base64.b64encode(f"{token}:api_token".encode()).decode("ascii")


class FiberyAuth(_TokenAuth):
    """``Authorization: Token {token}``."""

    def _header(self, token: str) -> str:
        return f"Token {token}"


@dataclass(frozen=True)
class ApiProfile:
    """What differs between the two APIs as far as the transport layer is concerned.

    ``source`` is the display name used as ``SourceError.source`` ("Toggl", "Fibery");
    ``credentials_env`` names the variable to check when the token is refused; ``quota_setting``
    names the setting that bounds the wait for a quota reset (``None``: 402 is never waited).
    ``user_quota_endpoints`` are the endpoint labels counted against the per-user quota (Toggl's
    ``/me``: 30 an hour) rather than the workspace/organisation quota a run draws from.
    """

    source: str
    credentials_env: str
    requests_per_second: float
    max_quota_wait_seconds: float = 0.0
    quota_setting: str | None = None
    user_quota_endpoints: frozenset[str] = frozenset()


@dataclass
class RequestStats:
    """Counters of one requester; every HTTP attempt (retries included) is one request.

    ``quota_remaining`` / ``quota_resets_in`` (seconds) are the quota headers of the last
    workspace-level answer that carried them, whatever its status; ``quota_remaining_min`` is
    the lowest remaining budget seen. ``user_quota_remaining`` / ``user_quota_resets_in`` are
    the same for the user-level quota (``/me``), which Toggl counts apart. Each stays ``None``
    while no answer of its kind carried the headers.
    """

    total: int = 0
    by_endpoint: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0
    quota_exceeded: int = 0
    feature_not_enabled: int = 0
    retries: int = 0
    quota_waits: int = 0
    slept_seconds: float = 0.0
    quota_remaining: int | None = None
    quota_resets_in: float | None = None
    quota_remaining_min: int | None = None
    user_quota_remaining: int | None = None
    user_quota_resets_in: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready copy, e.g. for ``run_metadata.json`` statistics."""
        return {**asdict(self), "by_endpoint": dict(sorted(self.by_endpoint.items()))}

    def note_quota(self, headers: httpx.Headers, *, user_level: bool = False) -> None:
        """Keep the quota headers of one answer; unreadable values are ignored."""
        remaining = _whole_number(headers.get(QUOTA_REMAINING_HEADER))
        resets_in = parse_retry_after(headers.get(QUOTA_RESETS_IN_HEADER), 0.0)
        if user_level:
            if remaining is not None:
                self.user_quota_remaining = remaining
            if resets_in is not None:
                self.user_quota_resets_in = resets_in
            return
        if remaining is not None:
            self.quota_remaining = remaining
            low = self.quota_remaining_min
            self.quota_remaining_min = remaining if low is None else min(low, remaining)
        if resets_in is not None:
            self.quota_resets_in = resets_in


def _whole_number(value: str | None) -> int | None:
    try:
        return int(value.strip()) if value is not None else None
    except ValueError:
        return None


class LazyBody:
    """A JSON body built only when the rate limiter admits the request's first attempt.

    Lets requests that waited for the same limiter slot be merged into one (see
    ``sources.coalesce``); retries of the request resend the body built the first time.
    """

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._built = False
        self._value: Any = None

    @property
    def built(self) -> bool:
        """Whether the body was built (the request was admitted and sent)."""
        return self._built

    def value(self) -> Any:
        if not self._built:
            self._value = self._build()
            self._built = True
        return self._value


class JsonResponse(NamedTuple):
    """A successful answer: its decoded JSON body and its headers."""

    data: Any
    headers: httpx.Headers


@dataclass(frozen=True)
class _Transient:
    """An attempt that may succeed if repeated.

    ``give_up(attempts_text)`` builds the error raised when no retry is left; ``wait`` is
    the server-directed delay (``Retry-After`` or quota reset), ``None`` for plain backoff,
    and ``max_wait`` the longest such delay worth waiting for.
    """

    reason: str
    give_up: Callable[[str], SourceError]
    wait: float | None = None
    max_wait: float = math.inf
    quota_wait: bool = False


def new_async_client(
    http: HttpSettings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` with the configured timeout; auth is added per request."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(http.timeout_seconds),
        transport=transport,
        headers={"User-Agent": USER_AGENT},
        verify=tls_context(),
    )


def rate_limiter(requests_per_second: float) -> AsyncLimiter:
    """A leaky bucket that lets one request through every ``1 / requests_per_second`` s."""
    return AsyncLimiter(1, 1 / requests_per_second)


class ApiRequester:
    """Sends requests for one API through its limiter, retry loop and error mapping.

    The ``httpx.AsyncClient`` is injected and owned by the caller; ``sleep``, ``limiter``,
    ``rng`` and ``clock`` (Unix seconds) are injectable so tests run instantly and
    deterministically.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        profile: ApiProfile,
        http: HttpSettings,
        auth: httpx.Auth,
        *,
        secret: SecretStr | None = None,
        sleep: SleepFn = asyncio.sleep,
        limiter: AbstractAsyncContextManager[None] | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._profile = profile
        self._http = http
        self._auth = auth
        self._secret = secret
        self._sleep = sleep
        self._limiter = rate_limiter(profile.requests_per_second) if limiter is None else limiter
        self._rng = rng or random.Random()
        self._clock = clock
        self._quota_reset_at: float | None = None
        """Unix time the used-up workspace quota resets (``Remaining: 0`` or a 402 said so)."""
        self.stats = RequestStats()

    @property
    def source(self) -> str:
        return self._profile.source

    async def request_json(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> JsonResponse:
        """Send one logical request (retried as needed) and return its decoded JSON answer.

        ``endpoint`` is a short label for counting and logging ("me", "time_entries", ...).
        ``json_body`` may be a ``LazyBody``, built once the limiter admits the first attempt.
        Raises a ``SourceError`` subclass; never returns a non-2xx answer. A ``Retry-After``
        longer than ``backoff_max_seconds`` ends the retries at once (``RateLimitedError``
        carries it as ``retry_after`` for the activity retry policy).
        """
        retries = 0
        while True:
            outcome = await self._attempt(method, url, endpoint, json_body, params)
            if isinstance(outcome, JsonResponse):
                return outcome
            limit = _WAIT_LIMIT.get()
            too_long = outcome.wait is not None and outcome.wait > min(outcome.max_wait, limit)
            if too_long or retries >= self._http.max_retries:
                attempts = retries + 1
                raise outcome.give_up(f"{attempts} attempt{'s' if attempts > 1 else ''}")
            delay = outcome.wait if outcome.wait is not None else min(self._backoff(retries), limit)
            retries += 1
            self.stats.retries += 1
            if outcome.quota_wait:
                self.stats.quota_waits += 1
            self.stats.slept_seconds += delay
            logger.warning(
                "%s %s: %s; retry %d/%d in %.2f s",
                *(self.source, endpoint, outcome.reason, retries, self._http.max_retries, delay),
                extra={"source": self.source, "endpoint": endpoint, "retry": retries},
            )
            await self._sleep(delay)
            if outcome.quota_wait:
                self._quota_reset_at = None

    def _backoff(self, retries: int) -> float:
        """Exponential backoff with "equal jitter": uniform in [d/2, d], d capped at max."""
        http = self._http
        ceiling = min(http.backoff_max_seconds, http.backoff_initial_seconds * 2.0**retries)
        return ceiling / 2 + self._rng.random() * ceiling / 2

    async def _attempt(
        self,
        method: str,
        url: str,
        endpoint: str,
        json_body: Any,
        params: Mapping[str, str] | None,
    ) -> JsonResponse | _Transient:
        source = self.source
        if endpoint not in self._profile.user_quota_endpoints:
            used_up = self._known_used_up_quota(endpoint)
            if used_up is not None:
                return used_up
        async with self._limiter:
            self.stats.total += 1
            self.stats.by_endpoint[endpoint] += 1
            logger.debug("%s %s %s", source, method, endpoint, extra={"source": source})
            try:
                body = json_body.value() if isinstance(json_body, LazyBody) else json_body
                response = await self._client.request(
                    method, url, json=body, params=params, auth=self._auth
                )
            except httpx.UnsupportedProtocol as exc:
                raise FatalSourceError(source, f"cannot send to {url}: {exc}") from exc
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {one_line(str(exc), 120, self._secret)}"
                return _Transient(
                    reason,
                    lambda tries: RetryableSourceError(
                        source, f"{endpoint} failed after {tries} ({reason})"
                    ),
                )
        return self._classify(response, endpoint)

    def _known_used_up_quota(self, endpoint: str) -> _Transient | None:
        """The wait for a quota an earlier answer said is used up, instead of a sure 402."""
        if self._quota_reset_at is None:
            return None
        resets_in = self._quota_reset_at - self._clock()
        if resets_in <= 0:
            self._quota_reset_at = None
            return None
        return self._quota_wait(endpoint, resets_in, "the quota headers said 0 requests remain")

    def _classify(self, response: httpx.Response, endpoint: str) -> JsonResponse | _Transient:
        status, source = response.status_code, self.source
        user_level = endpoint in self._profile.user_quota_endpoints
        self.stats.note_quota(response.headers, user_level=user_level)
        if not user_level:
            self._note_used_up_quota(response.headers)
        retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock())
        after = f", Retry-After {retry_after:.0f} s" if retry_after is not None else ""
        if 200 <= status < 300:
            try:
                return JsonResponse(decode_json(response.content), response.headers)
            except ValueError:
                return _Transient(
                    f"malformed JSON in HTTP {status}",
                    lambda tries: ResponseFormatError(
                        source,
                        f"{endpoint} answered malformed JSON after {tries}",
                        status_code=status,
                    ),
                )
        if status == 429:
            self.stats.rate_limited += 1
            return _Transient(
                f"HTTP 429{after}",
                lambda tries: RateLimitedError(
                    source,
                    f"{endpoint} still rate limited (HTTP 429) after {tries}{after}",
                    retry_after=retry_after,
                ),
                wait=retry_after,
                max_wait=self._http.backoff_max_seconds,
            )
        if status == 402:
            message = api_message(response, self._secret)
            if is_feature_gate(message):
                self.stats.feature_not_enabled += 1
                request = response.request
                raise FeatureNotEnabledError(
                    source,
                    f"{endpoint} ({request.method} {request.url.path}) needs a workspace feature"
                    f" that is not enabled (HTTP 402: {message}): move the workspace to a paid"
                    f" {source} plan that includes it, or ask a workspace admin to enable it",
                    endpoint=endpoint,
                )
            self.stats.quota_exceeded += 1
            return self._quota(response, endpoint)
        if status in (401, 403):
            raise AuthError(
                source,
                f"the API token was rejected or lacks access (HTTP {status}):"
                f" check {self._profile.credentials_env}",
                status_code=status,
            )
        if status == 408 or status >= 500:
            return _Transient(
                f"HTTP {status}{after}",
                lambda tries: RetryableSourceError(
                    source,
                    f"{endpoint} still failing with HTTP {status} after {tries}{after}",
                    status_code=status,
                ),
                wait=retry_after,
                max_wait=self._http.backoff_max_seconds,
            )
        message = api_message(response, self._secret)
        error = BadRequestError if 400 <= status < 500 else FatalSourceError
        raise error(source, f"{endpoint} refused (HTTP {status}): {message}", status_code=status)

    def _note_used_up_quota(self, headers: httpx.Headers) -> None:
        remaining = _whole_number(headers.get(QUOTA_REMAINING_HEADER))
        resets_in = parse_retry_after(headers.get(QUOTA_RESETS_IN_HEADER), 0.0)
        if remaining is None:
            return
        if remaining > 0 or resets_in is None:
            self._quota_reset_at = None
        else:
            self._quota_reset_at = self._clock() + resets_in

    def _quota(self, response: httpx.Response, endpoint: str) -> _Transient:
        """402: a wait for the reset (an hour when the API does not say when it comes)."""
        resets_in = parse_retry_after(response.headers.get(QUOTA_RESETS_IN_HEADER), 0.0)
        if resets_in is None:
            resets_in = parse_retry_after(response.headers.get("Retry-After"), self._clock())
        if resets_in is None:
            self._quota_reset_at = self._clock() + QUOTA_WINDOW_SECONDS
            return self._quota_wait(
                endpoint,
                QUOTA_WINDOW_SECONDS,
                "HTTP 402, and the API did not say when the quota resets",
            )
        self._quota_reset_at = self._clock() + resets_in
        return self._quota_wait(endpoint, resets_in, "HTTP 402")

    def _quota_wait(self, endpoint: str, resets_in: float, why: str) -> _Transient:
        """Wait ``resets_in`` here when allowed, else a ``QuotaWaitError`` that carries it."""
        profile = self._profile
        at = datetime.fromtimestamp(self._clock() + resets_in, UTC).strftime("%H:%M UTC")
        when = f"it resets in {duration_text(resets_in)} (about {at})"
        allowed = profile.max_quota_wait_seconds if profile.quota_setting else 0.0
        return _Transient(
            f"{why}; waiting {resets_in:.0f} s for the quota reset",
            lambda tries: QuotaWaitError(
                profile.source,
                f"{endpoint}: the hourly request quota is used up ({why}); {when}",
                resets_in=resets_in,
            ),
            wait=resets_in,
            max_wait=allowed,
            quota_wait=True,
        )


def is_feature_gate(message: str) -> bool:
    """Whether a 402's text means a missing plan feature rather than a used-up quota.

    Toggl documents "Workspace needs to have this feature enabled" for the feature gate; its
    quota answers speak of the quota. Anything that does not mention a feature is a quota 402,
    the meaning Toggl's limits article gives, so its reset time is honoured.
    """
    text = message.lower()
    return "feature" in text and "quota" not in text


class BaseApiClient:
    """Lifecycle and counters shared by ``TogglClient`` and ``FiberyClient``.

    The ``httpx.AsyncClient`` is closed by ``aclose()`` only when the client created it
    (``create()`` factories); an injected one stays the caller's to close.
    """

    def __init__(self, requester: ApiRequester, client: httpx.AsyncClient) -> None:
        self._requester = requester
        self._client = client
        self._owns_client = False

    @property
    def stats(self) -> RequestStats:
        """Live counters of every request sent by this client (retries included)."""
        return self._requester.stats

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far, retries included."""
        return self._requester.stats.total

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
