"""API tokens: parsed from the environment, validated, never shown, never in workflow input."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import SecretStr

from volt_agent.api.auth import TokenAuthenticator
from volt_agent.config import ApiToken, load_settings, parse_api_tokens
from volt_agent.errors import ConfigError
from volt_agent.pipeline.types import PipelineInput, WorkflowOptions

TOKEN = "s3cret-token-value-123"


def test_env_tokens_with_and_without_names() -> None:
    parsed = parse_api_tokens(f"viewer:{TOKEN}, ci:operator:{TOKEN}x ,,admin:{TOKEN}y:z")
    assert [(t["name"], t["role"]) for t in parsed] == [
        ("env-1", "viewer"),
        ("ci", "operator"),
        ("env-4", "admin"),
    ]
    assert parsed[2]["token"] == f"{TOKEN}y:z"  # a colon inside the token is kept


@pytest.mark.parametrize("entry", [TOKEN, f"root:{TOKEN}", f"ci:root:{TOKEN}"])
def test_bad_token_entries_are_refused_without_echoing_them(entry: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_api_tokens(f"viewer:{TOKEN}a,{entry}")
    assert "entry 2" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_settings_take_tokens_from_env_and_keep_them_out_of_dumps(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "config.yaml"
    config.write_text("api:\n  port: 9000\n")
    settings = load_settings(config, env={"VOLT_AGENT_API_TOKENS": f"admin:{TOKEN}"})
    assert settings.api.port == 9000
    assert [(t.role, t.token.get_secret_value()) for t in settings.api.tokens] == [("admin", TOKEN)]
    assert TOKEN not in repr(settings)
    assert TOKEN not in settings.model_dump_json()
    params = PipelineInput(
        start_date=date(2026, 11, 16),
        end_date=date(2026, 11, 22),
        run_id="r",
        options=WorkflowOptions.from_settings(settings),
    )
    assert TOKEN not in params.model_dump_json()
    assert set(params.model_dump()["options"]) == {
        "workflow_timeout_seconds",
        "retry",
        "reports",
        "api_queues",
        "deliver",
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [("viewer:short", "at least 16 characters"), (f"viewer:{TOKEN},admin:{TOKEN}", "twice")],
)
def test_weak_or_duplicate_tokens_are_refused(tmp_path, value: str, message: str) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "config.yaml"
    config.write_text("{}\n")
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(config, env={"VOLT_AGENT_API_TOKENS": value})
    assert "short" not in str(caught.value).replace("at least", "")
    assert TOKEN not in str(caught.value)


def test_authenticator_finds_the_role_and_hides_tokens() -> None:
    auth = TokenAuthenticator(
        [
            ApiToken(name="ops", role="operator", token=SecretStr(TOKEN)),
            ApiToken(name="boss", role="admin", token=SecretStr(TOKEN + "2")),
        ]
    )
    found = auth.authenticate(TOKEN + "2")
    assert found is not None
    assert (found.name, found.role) == ("boss", "admin")
    assert auth.authenticate(TOKEN[:-1]) is None
    assert auth.authenticate("") is None
    assert auth.authenticate("ü" * 20) is None
    assert TOKEN not in repr(auth)
