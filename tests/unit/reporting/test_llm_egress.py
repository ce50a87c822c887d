"""LLM egress is explicit: a key in the environment alone never picks the LLM writer."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pydantic import SecretStr
from rich.console import Console

from volt_agent import runner
from volt_agent.config import Secrets, Settings, load_secrets, load_settings
from volt_agent.pipeline.worker import build_writer
from volt_agent.reporting.llm_egress import egress_notice, uses_llm

ROOT = Path(__file__).parents[3]
PROMPTS = ROOT / "config" / "prompts"
NOTICE = (
    "OPENAI_API_KEY is set but llm.provider is template: reports are written without an LLM;"
    " set llm.provider: openai to use it"
)


def test_a_key_with_the_shipped_config_is_the_template_writer_and_the_notice() -> None:
    env = {"OPENAI_API_KEY": "sk-test-not-real"}
    settings = load_settings(ROOT / "config" / "config.yaml", env=env)
    secrets = load_secrets(env)
    assert settings.llm.provider == "template"
    assert not uses_llm(settings.llm)
    assert build_writer(settings, secrets).name == "template"
    assert egress_notice(settings.llm, secrets.openai_api_key) == NOTICE


def test_the_built_in_default_is_template() -> None:
    settings = Settings.model_validate({})
    secrets = Secrets(openai_api_key=SecretStr("sk-test-not-real"))
    assert settings.llm.provider == "template"
    assert build_writer(settings, secrets).name == "template"


def test_explicit_opt_in_is_the_llm_writer_without_a_notice() -> None:
    settings = Settings.model_validate({"llm": {"provider": "openai", "prompts_dir": PROMPTS}})
    key = SecretStr("sk-test-not-real")
    assert build_writer(settings, Secrets(openai_api_key=key)).name == "llm:gpt-4o-mini"
    assert egress_notice(settings.llm, key) is None


def test_old_auto_configs_load_and_say_what_auto_means_now(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("llm:\n  provider: auto\n", encoding="utf-8")
    settings = load_settings(config, env={})
    key = SecretStr("sk-test-not-real")
    assert build_writer(settings, Secrets(openai_api_key=key)).name == "template"
    notice = egress_notice(settings.llm, key)
    assert notice is not None
    assert "\n" not in notice
    assert notice.startswith("OPENAI_API_KEY is set but llm.provider is auto, which now means")


@pytest.mark.parametrize("key", [None, ""])
def test_no_key_means_no_notice(key: str | None) -> None:
    settings = Settings.model_validate({})
    assert egress_notice(settings.llm, None if key is None else SecretStr(key)) is None


class StopError(Exception):
    """Raised where the run would connect to Temporal: the start-up lines are printed."""


async def start_lines(monkeypatch: pytest.MonkeyPatch, settings: Settings, *, worker: bool) -> str:
    async def no_warnings(*_: object, **__: object) -> list[str]:
        return []

    async def stop(*_: object, **__: object) -> None:
        raise StopError

    monkeypatch.setattr(runner, "prepare_run", lambda *_, **__: object())
    monkeypatch.setattr(runner, "check_before_start", no_warnings)
    monkeypatch.setattr(runner, "connect", stop)
    printed = io.StringIO()
    console = Console(file=printed, width=400)
    secrets = Secrets(openai_api_key=SecretStr("sk-test-not-real"))
    if worker:
        start = runner.run_worker(settings, secrets, console)
    else:
        start = runner.run_pipeline(
            settings,
            secrets,
            console,
            start_date="2026-11-02",
            end_date="2026-11-08",
            users=None,
            start_from="toggl",
            run_id=None,
            output_dir=None,
        )
    with pytest.raises(StopError):
        await start
    return printed.getvalue()


@pytest.mark.parametrize("worker", [False, True])
async def test_run_and_worker_print_the_notice_once(
    monkeypatch: pytest.MonkeyPatch, worker: bool
) -> None:
    out = await start_lines(monkeypatch, Settings.model_validate({}), worker=worker)
    assert out.count("OPENAI_API_KEY is set") == 1
    assert NOTICE in out.replace("\n", " ")


async def test_an_opted_in_run_prints_no_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.model_validate({"llm": {"provider": "openai", "prompts_dir": PROMPTS}})
    assert "OPENAI_API_KEY" not in await start_lines(monkeypatch, settings, worker=False)
