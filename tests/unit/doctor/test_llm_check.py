"""The doctor's LLM check against the fake OpenAI-compatible server, in process."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
from pydantic import SecretStr

from volt_agent.config import LlmSettings
from volt_agent.doctor.apis import check_llm
from volt_agent.sandbox.fake_llm import FAKE_LLM_KEY, FakeLlm

PROMPTS = Path(__file__).parents[3] / "config" / "prompts"
BASE_URL = "http://fake-llm.test/v1"


def settings(**updates: object) -> LlmSettings:
    return LlmSettings.model_validate(
        {"provider": "openai", "base_url": BASE_URL, "model": "fake-model", "prompts_dir": PROMPTS}
        | updates
    )


class Factory:
    """OpenAI clients talking to ``fake`` through ``ASGITransport``; counts clients made."""

    def __init__(self, fake: FakeLlm) -> None:
        self.fake = fake
        self.made = 0

    def __call__(self, llm: LlmSettings, key: SecretStr) -> openai.AsyncOpenAI:
        self.made += 1
        transport = httpx.ASGITransport(app=self.fake.app)
        return openai.AsyncOpenAI(
            api_key=key.get_secret_value(),
            base_url=llm.base_url,
            max_retries=0,
            http_client=httpx.AsyncClient(transport=transport),
        )


async def test_a_served_model_and_an_accepted_key_are_ok() -> None:
    factory = Factory(FakeLlm())
    check = await check_llm(settings(), SecretStr(FAKE_LLM_KEY), client_factory=factory)
    assert (check.status, check.message) == (
        "ok",
        f"{BASE_URL} accepts the key and serves 'fake-model'",
    )
    assert factory.made == 1


async def test_a_model_the_endpoint_does_not_list_is_a_warning() -> None:
    factory = Factory(FakeLlm())
    check = await check_llm(
        settings(model="gpt-9"), SecretStr(FAKE_LLM_KEY), client_factory=factory
    )
    assert check.status == "warning"
    assert "does not list llm.model 'gpt-9' (it lists fake-model): check llm.model" in check.message


async def test_a_rejected_key_is_an_error_without_the_key() -> None:
    fake = FakeLlm()
    wrong = "sk-wrong-key-0123456789"
    check = await check_llm(settings(), SecretStr(wrong), client_factory=Factory(fake))
    assert check.status == "error"
    assert "check OPENAI_API_KEY" in check.message
    assert wrong not in check.message
    assert wrong[-6:] not in check.message
    assert fake.rejected() == 1


async def test_no_key_with_the_default_provider_means_the_template_writer() -> None:
    factory = Factory(FakeLlm())
    default = LlmSettings.model_validate({"prompts_dir": PROMPTS})
    check = await check_llm(default, None, client_factory=factory)
    assert (check.status, check.message) == (
        "ok",
        "llm.provider is template: reports use the built-in template writer",
    )
    assert factory.made == 0


async def test_a_key_without_opt_in_is_the_template_writer_and_the_notice() -> None:
    factory = Factory(FakeLlm())
    default = LlmSettings.model_validate({"base_url": BASE_URL, "prompts_dir": PROMPTS})
    check = await check_llm(default, SecretStr(FAKE_LLM_KEY), client_factory=factory)
    assert (check.status, check.message) == (
        "ok",
        "OPENAI_API_KEY is set but llm.provider is template: reports are written without"
        " an LLM; set llm.provider: openai to use it",
    )
    assert factory.made == 0


async def test_provider_auto_with_a_key_no_longer_asks_the_llm() -> None:
    factory = Factory(FakeLlm())
    check = await check_llm(
        settings(provider="auto"), SecretStr(FAKE_LLM_KEY), client_factory=factory
    )
    assert check.status == "ok"
    assert "llm.provider is auto, which now means template" in check.message
    assert factory.made == 0


async def test_provider_openai_without_a_key_is_an_error() -> None:
    check = await check_llm(settings(provider="openai"), None)
    assert check.status == "error"
    assert "OPENAI_API_KEY is not set" in check.message


async def test_provider_template_checks_nothing() -> None:
    factory = Factory(FakeLlm())
    check = await check_llm(
        settings(provider="template"), SecretStr(FAKE_LLM_KEY), client_factory=factory
    )
    assert check.status == "ok"
    assert factory.made == 0


async def test_missing_prompt_files_are_an_error_before_any_request(tmp_path: Path) -> None:
    factory = Factory(FakeLlm())
    check = await check_llm(
        settings(prompts_dir=tmp_path / "nope"), SecretStr(FAKE_LLM_KEY), client_factory=factory
    )
    assert check.status == "error"
    assert "nope" in check.message
    assert factory.made == 0
