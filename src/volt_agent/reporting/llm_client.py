"""One chat completion against any OpenAI-compatible endpoint, with errors classified once.

The official ``openai`` client retries a call ``llm.max_retries`` times on 408/409/429/5xx,
timeouts and connection errors (exponential backoff, ``Retry-After`` honoured); what still
fails becomes ``RetryableSourceError`` (the writer then keeps the template text). Error
messages never contain the API key (nor the server's echo of it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import openai
from pydantic import SecretStr

from volt_agent.config import LlmSettings
from volt_agent.errors import (
    AuthError,
    BadRequestError,
    QuotaExceededError,
    RateLimitedError,
    ResponseFormatError,
    RetryableSourceError,
    SourceError,
)
from volt_agent.tls import tls_context

SOURCE = "LLM"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
_DETAIL_LIMIT = 200


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None = None


class ChatClient(Protocol):
    async def complete(self, system: str, user: str) -> Completion:
        """The model's answer to one system + user message pair."""
        ...


ClientFactory = Callable[[], openai.AsyncOpenAI]


class OpenAIChatClient:
    """Chat completions through ``openai.AsyncOpenAI``; one short-lived client per call.

    A fresh client per call keeps no connection pool across event loops or worker restarts;
    its cost (one TCP/TLS handshake) is small next to a completion.
    """

    def __init__(
        self,
        settings: LlmSettings,
        api_key: SecretStr,
        *,
        factory: ClientFactory | None = None,
    ) -> None:
        self._settings = settings
        self._api_key = api_key
        self.base_url = settings.base_url or DEFAULT_BASE_URL
        self._factory = factory or self._new_client

    def _new_client(self) -> openai.AsyncOpenAI:
        """Its own connection pool, but the process's TLS context (see ``volt_agent.tls``)."""
        timeout = self._settings.timeout_seconds
        return openai.AsyncOpenAI(
            api_key=self._api_key.get_secret_value(),
            base_url=self.base_url,
            timeout=timeout,
            max_retries=self._settings.max_retries,
            http_client=openai.DefaultAsyncHttpxClient(verify=tls_context(), timeout=timeout),
        )

    async def complete(self, system: str, user: str) -> Completion:
        settings = self._settings
        limit: dict[str, Any] = {settings.max_tokens_field: settings.max_tokens}
        try:
            async with self._factory() as client:
                response = await client.chat.completions.create(
                    model=settings.model,
                    messages=[
                        {"role": "system", "content": system},
                        {"role": "user", "content": user},
                    ],
                    temperature=settings.temperature,
                    **limit,
                )
        except openai.APIError as exc:
            raise classify(exc, self.base_url) from None
        if not response.choices:
            raise ResponseFormatError(SOURCE, f"{self.base_url} answered with no choices")
        choice = response.choices[0]
        usage = response.usage
        return Completion(
            text=choice.message.content or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            finish_reason=choice.finish_reason,
        )


def classify(exc: openai.APIError, base_url: str) -> SourceError:
    """The volt-agent error for an ``openai`` error (see ``volt_agent.errors``)."""
    if isinstance(exc, openai.APITimeoutError):
        return RetryableSourceError(SOURCE, f"{base_url} did not answer in time")
    if isinstance(exc, openai.APIConnectionError):
        return RetryableSourceError(SOURCE, f"cannot reach {base_url}: {exc.message}")
    if not isinstance(exc, openai.APIStatusError):
        return ResponseFormatError(SOURCE, f"unexpected answer from {base_url}: {_detail(exc)}")
    return _classify_status(exc, base_url)


def _classify_status(exc: openai.APIStatusError, base_url: str) -> SourceError:
    status = exc.status_code
    if isinstance(exc, openai.AuthenticationError):
        return AuthError(
            SOURCE,
            f"the API key was rejected (HTTP {status}): check OPENAI_API_KEY",
            status_code=status,
        )
    if isinstance(exc, openai.PermissionDeniedError):
        return AuthError(
            SOURCE,
            f"the API key has no access to model or endpoint (HTTP {status}):"
            " check OPENAI_API_KEY and llm.model",
            status_code=status,
        )
    if status == 429:
        if exc.code == "insufficient_quota":
            return QuotaExceededError(
                SOURCE, "the account has no quota left (HTTP 429 insufficient_quota): check billing"
            )
        return RateLimitedError(
            SOURCE, f"rate limited (HTTP 429): {_detail(exc)}", retry_after=_retry_after(exc)
        )
    if status >= 500 or status in (408, 409):
        return RetryableSourceError(
            SOURCE, f"HTTP {status} from {base_url}: {_detail(exc)}", status_code=status
        )
    return BadRequestError(
        SOURCE,
        f"HTTP {status} from {base_url}: {_detail(exc)} (check llm.model and llm settings)",
        status_code=status,
    )


def _detail(exc: openai.APIError) -> str:
    body = exc.body
    message: object = exc.message
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            message = inner["message"]
    text = " ".join(str(message).split())
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
