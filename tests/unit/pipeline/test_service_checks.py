"""The pre-start Toggl checks: unknown ``--users`` emails and a token that is not an admin."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from volt_agent.config import HttpSettings, Secrets, Settings
from volt_agent.demo import sandbox_settings
from volt_agent.errors import AuthError, UserInputError
from volt_agent.pipeline.service import check_before_start, check_toggl_access, prepare_run
from volt_agent.sandbox import (
    RequestStats,
    TogglSimulatorOptions,
    Workspace,
    WorkspaceSpec,
    create_toggl_app,
    generate_workspace,
)

TOKEN = SecretStr(TogglSimulatorOptions().token)


@cache
def workspace() -> Workspace:
    return generate_workspace(WorkspaceSpec(users=4, days=2, seed=5))


def settings() -> Settings:
    base = sandbox_settings(
        Settings(), "http://toggl.test", "http://fibery.test", workspace().workspace_id
    )
    return base.model_copy(
        update={
            "http": HttpSettings(timeout_seconds=5, max_retries=0),
            "toggl": base.toggl.model_copy(update={"requests_per_second": 1000.0}),
        }
    )


def simulator(options: TogglSimulatorOptions) -> tuple[httpx.ASGITransport, RequestStats]:
    app = create_toggl_app(workspace(), options)
    stats: RequestStats = app.state.stats
    return httpx.ASGITransport(app=app), stats


async def test_a_member_token_gets_one_warning_naming_its_user() -> None:
    transport, _ = simulator(TogglSimulatorOptions(token_role="member"))
    warnings = await check_toggl_access(
        settings(), Secrets(toggl_api_token=TOKEN), None, transport=transport
    )
    me = workspace().me
    assert len(warnings) == 1
    assert "\n" not in warnings[0]
    assert "not a workspace admin" in warnings[0]
    assert me.fullname in warnings[0]
    assert "only that user" in warnings[0]


async def test_an_admin_token_gets_no_warning_and_the_user_list_is_fetched_once() -> None:
    transport, stats = simulator(TogglSimulatorOptions())
    emails = [u.email for u in workspace().toggl_users[:2]]
    warnings = await check_toggl_access(
        settings(), Secrets(toggl_api_token=TOKEN), emails, transport=transport
    )
    assert warnings == []
    counts = stats.snapshot()
    assert counts["toggl.workspace_users"] == 1
    assert counts["toggl.me"] == 1


async def test_unknown_emails_are_still_refused_first() -> None:
    transport, _ = simulator(TogglSimulatorOptions(token_role="member"))
    with pytest.raises(UserInputError, match=r"nobody@volt\.example"):
        await check_toggl_access(
            settings(), Secrets(toggl_api_token=TOKEN), ["nobody@volt.example"], transport=transport
        )


async def test_no_token_means_no_check_and_no_warning(tmp_path: Path) -> None:
    assert await check_toggl_access(settings(), Secrets(), None) == []
    params = prepare_run(
        settings(),
        start_date="2026-11-16",
        end_date="2026-11-17",
        output_dir=tmp_path / "runs",
    )
    assert await check_before_start(settings(), params, Secrets(), in_process_worker=False) == []


async def test_the_visibility_probe_is_best_effort_but_the_users_check_is_not() -> None:
    transport, stats = simulator(TogglSimulatorOptions())
    wrong = Secrets(toggl_api_token=SecretStr("not-the-sandbox-token"))
    assert await check_toggl_access(settings(), wrong, None, transport=transport) == []
    assert stats.snapshot()["requests"] == 1  # one refused answer, no retries
    with pytest.raises(AuthError):
        await check_toggl_access(settings(), wrong, [workspace().me.email], transport=transport)


async def test_without_users_the_run_asks_toggl_nothing_before_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[object] = []

    async def recording(_settings: object, _secrets: object, emails: object) -> list[str]:
        asked.append(emails)
        return ["checked"]

    monkeypatch.setattr("volt_agent.pipeline.service.check_toggl_access", recording)
    secrets = Secrets(toggl_api_token=TOKEN)
    run = {"start_date": "2026-11-16", "end_date": "2026-11-17", "output_dir": tmp_path / "runs"}
    everyone = prepare_run(settings(), **run)
    assert await check_before_start(settings(), everyone, secrets, in_process_worker=False) == []
    assert asked == []  # the worker learns the visibility with the token that counts
    some = prepare_run(settings(), users=workspace().me.email, **run)
    warnings = await check_before_start(settings(), some, secrets, in_process_worker=False)
    assert warnings == ["checked"]
    assert asked == [[workspace().me.email]]
