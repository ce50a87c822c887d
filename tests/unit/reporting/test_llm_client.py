"""``OpenAIChatClient`` (the official ``openai`` package) against ``FakeLlm`` on loopback."""

import re
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from volt_agent.config import LlmSettings
from volt_agent.errors import (
    AuthError,
    BadRequestError,
    QuotaExceededError,
    RateLimitedError,
    RetryableSourceError,
)
from volt_agent.reporting.llm_client import OpenAIChatClient
from volt_agent.sandbox.fake_llm import FAKE_LLM_KEY, FakeLlm


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeLlm, str]]:
    fake = FakeLlm()
    with fake.serve() as base_url:
        yield fake, base_url


@pytest.fixture
def fake(served: tuple[FakeLlm, str]) -> FakeLlm:
    return served[0]


def client(
    served: tuple[FakeLlm, str], key: str = FAKE_LLM_KEY, **settings: object
) -> OpenAIChatClient:
    """A client that does not retry unless ``max_retries`` says so."""
    llm = LlmSettings.model_validate(
        {"base_url": served[1], "timeout_seconds": 0.5, "model": "m", "max_retries": 0, **settings}
    )
    return OpenAIChatClient(llm, SecretStr(key))


async def test_completion_text_usage_and_request_shape(
    served: tuple[FakeLlm, str], fake: FakeLlm
) -> None:
    fake.script("=== SECTION: summary ===\nHello.")
    before = len(fake.received())
    done = await client(served, max_tokens=77, temperature=0.3).complete("sys", "user text")
    assert done.text == "=== SECTION: summary ===\nHello."
    assert done.prompt_tokens == -(-len("sysuser text") // 4)
    assert done.completion_tokens == -(-len(done.text) // 4)
    assert done.finish_reason == "stop"
    request = fake.received()[before]
    assert request.messages == (("system", "sys"), ("user", "user text"))
    assert (request.model, request.temperature, request.max_tokens) == ("m", 0.3, 77)


async def test_max_completion_tokens_field(served: tuple[FakeLlm, str], fake: FakeLlm) -> None:
    c = client(served, max_tokens=12, max_tokens_field="max_completion_tokens")
    await c.complete("s", "u")
    assert fake.received()[-1].max_tokens == 12


async def test_wrong_key_is_a_clear_auth_error_without_the_key(
    served: tuple[FakeLlm, str], fake: FakeLlm
) -> None:
    rejected = fake.rejected()
    with pytest.raises(AuthError) as caught:
        await client(served, key="sk-very-secret-987").complete("s", "u")
    message = str(caught.value)
    assert message == "LLM: the API key was rejected (HTTP 401): check OPENAI_API_KEY"
    assert "987" not in message
    assert fake.rejected() == rejected + 1  # the client itself does not retry


@pytest.mark.parametrize(
    ("status", "code", "error", "text"),
    [
        (429, None, RateLimitedError, "rate limited (HTTP 429)"),
        (429, "insufficient_quota", QuotaExceededError, "no quota left"),
        (500, None, RetryableSourceError, "HTTP 500 from"),
        (503, None, RetryableSourceError, "HTTP 503 from"),
        (400, None, BadRequestError, "HTTP 400 from"),
        (404, None, BadRequestError, "check llm.model"),
        (403, None, AuthError, "no access"),
    ],
)
async def test_http_errors_are_classified_once(
    served: tuple[FakeLlm, str],
    fake: FakeLlm,
    status: int,
    code: str | None,
    error: type[Exception],
    text: str,
) -> None:
    fake.fail_next(status, code=code, retry_after=3 if status == 429 else None)
    with pytest.raises(error, match=re.escape(text)) as caught:
        await client(served).complete("s", "u")
    assert str(caught.value).startswith("LLM: ")
    if error is RateLimitedError:
        assert caught.value.retry_after == 3  # type: ignore[attr-defined]
    assert fake.received()[-1].outcome == f"HTTP {status}"
    assert (await client(served).complete("s", "u")).text  # the next call is answered


async def test_timeout_and_unreachable_server_are_retryable(
    served: tuple[FakeLlm, str], fake: FakeLlm
) -> None:
    fake.delay_next(1.0)
    with pytest.raises(RetryableSourceError, match="did not answer in time"):
        await client(served).complete("s", "u")
    unreachable = LlmSettings(base_url="http://127.0.0.1:9/v1", timeout_seconds=0.5)
    with pytest.raises(RetryableSourceError, match=r"cannot reach http://127\.0\.0\.1:9/v1"):
        await OpenAIChatClient(unreachable, SecretStr("k")).complete("s", "u")


async def test_the_client_retries_transient_failures_up_to_max_retries(
    served: tuple[FakeLlm, str], fake: FakeLlm
) -> None:
    before = len(fake.received())
    fake.fail_next(429, retry_after=0.2)
    fake.fail_next(503)
    done = await client(served, max_retries=2).complete("s", "u")
    assert done.text
    outcomes = [r.outcome for r in fake.received()[before:]]
    assert outcomes == ["HTTP 429", "HTTP 503", "answered"]

    before = len(fake.received())
    fake.fail_next(502, times=3)
    with pytest.raises(RetryableSourceError, match="HTTP 502 from"):
        await client(served, max_retries=2).complete("s", "u")
    assert [r.outcome for r in fake.received()[before:]] == ["HTTP 502"] * 3


async def test_a_rejected_key_is_not_retried(served: tuple[FakeLlm, str], fake: FakeLlm) -> None:
    rejected = fake.rejected()
    with pytest.raises(AuthError):
        await client(served, key="sk-wrong-0000000", max_retries=2).complete("s", "u")
    assert fake.rejected() == rejected + 1


async def test_fake_server_lists_models_and_checks_the_key(served: tuple[FakeLlm, str]) -> None:
    async with httpx.AsyncClient(base_url=served[1]) as http:
        ok = await http.get("/models", headers={"Authorization": f"Bearer {FAKE_LLM_KEY}"})
        denied = await http.post("/chat/completions", json={"messages": []})
        bad = await http.post(
            "/chat/completions",
            json={"messages": "nope"},
            headers={"Authorization": f"Bearer {FAKE_LLM_KEY}"},
        )
    assert ok.json()["data"][0]["id"] == "fake-model"
    assert denied.status_code == 401
    assert denied.json()["error"]["code"] == "invalid_api_key"
    assert bad.status_code == 400
