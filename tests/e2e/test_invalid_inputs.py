"""Inputs only Toggl can judge, refused by a real ``volt-agent run`` before anything starts.

Offline validation (dates, ranges, run ids, config, tokens) is covered through the CLI in
``tests/unit/cli/test_cli.py``; these cases need the Toggl simulator. Temporal points at a
port nothing listens on, so a run that got past validation could not start a workflow: it
would fail with "cannot reach Temporal" instead of the expected message.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e._support import cli_env, one_line, run_cli, write_config
from tests.integration.pipeline_env import WEEK, workspace
from volt_agent.sandbox import Simulators, run_simulators

pytestmark = pytest.mark.e2e

NOWHERE = "127.0.0.1:9"


@pytest.fixture(scope="module")
def sims() -> Iterator[Simulators]:
    with run_simulators(workspace()) as running:
        yield running


def run_with_users(
    tmp_path: Path, sims: Simulators, users: str, **env: str
) -> tuple[int, str, str]:
    config = write_config(tmp_path, sims, temporal={"address": NOWHERE})
    args = ["run", "--start-date", WEEK[0], "--end-date", WEEK[1], "--users", users]
    sims.toggl.reset_stats()
    done = run_cli([*args, "--config", str(config)], cli_env(tmp_path, sims) | env, tmp_path, 60)
    return done.returncode, done.stdout, done.stderr


def test_unknown_user_email_is_refused_before_anything_starts(
    tmp_path: Path, sims: Simulators
) -> None:
    known = workspace().toggl_users[2].email
    code, stdout, stderr = run_with_users(tmp_path, sims, f"{known},nobody@volt.example")
    assert code == 2, stdout + stderr
    line = one_line(stderr)
    assert "unknown Toggl user email(s): nobody@volt.example" in line
    assert known not in line
    assert stdout == ""
    assert not (tmp_path / "runs").exists()
    counts = sims.toggl.stats()
    assert counts["requests"] == counts["toggl.workspace_users"] == 1  # the one lookup


def test_known_user_emails_pass_validation(tmp_path: Path, sims: Simulators) -> None:
    users = ",".join(u.email.upper() for u in workspace().toggl_users[:2])
    code, stdout, stderr = run_with_users(tmp_path, sims, users)
    assert code == 2, stdout + stderr
    assert f"cannot reach Temporal at {NOWHERE}" in one_line(stderr)  # got past the check
    assert not (tmp_path / "runs").exists()


def test_a_rejected_toggl_token_is_one_line_without_the_token(
    tmp_path: Path, sims: Simulators
) -> None:
    wrong = "wrong-token-0123456789"
    code, stdout, stderr = run_with_users(
        tmp_path, sims, workspace().toggl_users[0].email, TOGGL_API_TOKEN=wrong
    )
    assert code == 2, stdout + stderr
    line = one_line(stderr)
    assert "TOGGL_API_TOKEN" in line
    assert wrong not in stdout + stderr
    assert not (tmp_path / "runs").exists()
