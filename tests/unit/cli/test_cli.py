"""The CLI's contract: bad input → one line saying what to fix, exit code 2, nothing started."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from volt_agent.cli import app

REPO = Path(__file__).parents[3]
runner = CliRunner()
TOKENS = ("TOGGL_API_TOKEN", "FIBERY_API_TOKEN", "TEMPORAL_ADDRESS", "OPENAI_API_KEY")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No tokens, no .env, no config: and a Temporal address nothing listens on, so a test
    that wrongly got past validation fails instead of starting a server."""
    monkeypatch.chdir(tmp_path)
    for name in TOKENS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:9")
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def week(*extra: str) -> list[str]:
    return ["run", "--start-date", "2026-11-16", "--end-date", "2026-11-22", *extra]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--start-date", "2026-13-01", "--end-date", "2026-11-22"], "is not a date"),
        (["run", "--start-date", "2026-11-22", "--end-date", "2026-11-16"], "is before"),
        (week("--run-id", "../x"), "invalid run id"),
        (week("--start-from", "fibery"), "needs --run-id"),
        (week("--start-from", "fibery", "--run-id", "nope"), "has no toggl_aggregated.json"),
        (week("--start-from", "jira"), "must be toggl or fibery"),
        (week("--users", "not-an-email"), "expects emails"),
        (week("--users", " , "), "--users is empty"),
        (week(), "TOGGL_API_TOKEN is not set"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    code, output = run(*args)
    assert code == 2, output
    assert message in output
    assert len([line for line in output.splitlines() if line.strip()]) == 1
    assert not Path("tmp").exists()


def test_malformed_config_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("toggl: [unclosed\n")
    code, output = run(*week("--config", str(bad)))
    assert code == 2
    assert "not valid YAML" in output


def test_unknown_enrichment_activity_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("{}\n")
    (tmp_path / "enrichment_config.yaml").write_text(
        "types:\n  Scrum/Task:\n    activity: enrich_magic\n"
    )
    code, output = run(*week("--config", str(tmp_path / "config.yaml")))
    assert code == 2
    assert "activity" in output


def test_unreachable_temporal_address_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOGGL_API_TOKEN", "t" * 12)
    monkeypatch.setenv("FIBERY_API_TOKEN", "f" * 12)
    code, output = run(*week())
    assert code == 2
    assert "cannot reach Temporal at 127.0.0.1:9" in output
    assert "t" * 12 not in output


def test_help_explains_every_command() -> None:
    code, output = run("--help")
    assert code == 0
    for name in ("run", "worker", "demo", "show-run", "server", "sandbox"):
        assert name in output
    code, output = run("run", "--help")
    assert code == 0
    assert "--start-from" in output


def command_names(group: typer.Typer, prefix: str = "") -> list[str]:
    names = [f"{prefix}{c.name or c.callback.__name__}" for c in group.registered_commands]  # type: ignore[union-attr]
    for sub in group.registered_groups:
        names += command_names(sub.typer_instance, f"{prefix}{sub.name} ")  # type: ignore[arg-type]
    return names


def test_readme_documents_every_command() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [n for n in command_names(app) if f"volt-agent {n}" not in readme]
    assert not missing, f"commands missing from README.md: {missing}"
