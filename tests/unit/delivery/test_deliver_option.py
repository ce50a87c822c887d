"""``--deliver``: opt-in per run, carried in ``WorkflowOptions.deliver`` as channel names."""

from __future__ import annotations

from pathlib import Path

import pytest

from volt_agent.api.models import CreateScheduleRequest, StartRunRequest
from volt_agent.config import Settings, load_secrets
from volt_agent.errors import UserInputError
from volt_agent.pipeline.service import parse_deliver, prepare_run
from volt_agent.pipeline.types import WorkflowOptions


def test_channels_are_parsed_once_each_and_unknown_ones_are_refused() -> None:
    assert parse_deliver(None) == []
    assert parse_deliver(" email , email,webhook") == ["email", "webhook"]
    with pytest.raises(
        UserInputError, match="unknown channel 'fax'; the channels are: email, webhook, fibery"
    ):
        parse_deliver("email,fax")


def test_a_run_opts_in_through_its_input(tmp_path: Path) -> None:
    settings = Settings().model_copy(update={"output_dir": tmp_path})
    opted = prepare_run(settings, start_date="2026-11-16", end_date="2026-11-22", deliver="email")
    assert opted.options.deliver == ["email"]
    plain = prepare_run(settings, start_date="2026-11-16", end_date="2026-11-22")
    assert plain.options.deliver == []


def test_an_older_input_delivers_nothing() -> None:
    assert WorkflowOptions.model_validate({"workflow_timeout_seconds": 60}).deliver == []


def test_smtp_login_comes_only_from_the_environment() -> None:
    secrets = load_secrets(
        {"VOLT_AGENT_SMTP_USERNAME": "mailer", "VOLT_AGENT_SMTP_PASSWORD": "pw-123"}
    )
    assert secrets.smtp_username is not None
    assert secrets.smtp_password is not None
    assert secrets.smtp_username.get_secret_value() == "mailer"
    assert secrets.smtp_password.get_secret_value() == "pw-123"
    assert "pw-123" not in repr(secrets)
    with pytest.raises(ValueError, match="password"):
        Settings.model_validate({"delivery": {"email": {"password": "x"}}})


def test_api_bodies_take_known_channels_only() -> None:
    body = StartRunRequest.model_validate(
        {"start_date": "2026-11-16", "end_date": "2026-11-22", "deliver": ["email"]}
    )
    assert body.deliver == ["email"]
    with pytest.raises(ValueError, match="deliver"):
        CreateScheduleRequest.model_validate(
            {"name": "w", "cron": "0 7 * * MON", "window": "last-week", "deliver": ["fax"]}
        )
