"""The CLI's contract: bad input → one line saying what to fix, exit code 2, nothing started."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from volt_agent.cli import app
from volt_agent.config import Settings
from volt_agent.errors import UserInputError
from volt_agent.pipeline.service import RunExistsError, prepare_run

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
        (
            ["run", "--start-date", "2025-01-01", "--end-date", "2026-01-02"],
            "is 367 days, more than the 366",
        ),
        (week("--output-dir", "occupied.txt/runs"), "occupied.txt is not a directory"),
        (week("--output-dir", "occupied.txt"), "occupied.txt is not a directory"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    Path("occupied.txt").write_text("a file where a folder is expected\n")
    code, output = run(*args)
    assert code == 2, output
    assert message in output
    assert len([line for line in output.splitlines() if line.strip()]) == 1
    assert not Path("tmp").exists()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TOGGL_API_TOKEN": "t" * 12}, "FIBERY_API_TOKEN is not set"),
        ({"TOGGL_API_TOKEN": "t" * 12, "FIBERY_API_TOKEN": "f" * 12}, "FIBERY_BASE_URL is not set"),
    ],
)
def test_missing_settings_of_the_worker_are_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    monkeypatch.delenv("FIBERY_BASE_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, output = run(*week())
    assert code == 2, output
    assert message in output
    assert len([line for line in output.splitlines() if line.strip()]) == 1
    assert "t" * 12 not in output
    assert not Path("tmp").exists()


def test_malformed_type_key_in_enrichment_config_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("{}\n")
    (tmp_path / "enrichment_config.yaml").write_text("types:\n  Task:\n    max_concurrent: 2\n")
    code, output = run(*week("--config", str(tmp_path / "config.yaml")))
    assert code == 2
    assert "must look like 'Space/Type'" in output
    assert len([line for line in output.splitlines() if line.strip()]) == 1


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
    monkeypatch.setenv("FIBERY_BASE_URL", "http://127.0.0.1:9")
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


def test_generated_run_id_never_overwrites_an_existing_run(tmp_path: Path) -> None:
    settings = Settings(output_dir=tmp_path / "runs")
    now = datetime(2026, 11, 24, 7, 0, 0, tzinfo=UTC)
    first = prepare_run(settings, start_date="2026-11-16", end_date="2026-11-22", now=now)
    (tmp_path / "runs" / first.run_id).mkdir(parents=True)
    with pytest.raises(UserInputError, match="already exists"):
        prepare_run(settings, start_date="2026-11-16", end_date="2026-11-22", now=now)


def finished_run(run_id: str, *files: str) -> Path:
    folder = Path("runs") / run_id
    folder.mkdir(parents=True)
    for name in ("run_metadata.json", *files):
        (folder / name).write_text("{}")
    return folder


def test_starting_an_existing_run_from_toggl_needs_force() -> None:
    folder = finished_run("done")
    code, output = run(*week("--run-id", "done", "--output-dir", "runs"))
    assert code == 2, output
    assert "run done already exists" in output
    assert "--force" in output
    assert len([line for line in output.splitlines() if line.strip()]) == 1
    assert (folder / "run_metadata.json").read_text() == "{}"
    code, output = run(*week("--run-id", "done", "--output-dir", "runs", "--force"))
    assert code == 2, output  # past the run-id check: the next one is the missing token
    assert "TOGGL_API_TOKEN is not set" in output


def test_a_fibery_rerun_of_an_existing_run_needs_no_force() -> None:
    finished_run("done", "toggl_aggregated.json")
    code, output = run(*week("--run-id", "done", "--output-dir", "runs", "--start-from", "fibery"))
    assert code == 2, output
    assert "FIBERY_API_TOKEN is not set" in output
    assert "--force" not in output


def test_a_run_id_without_metadata_needs_no_force(tmp_path: Path) -> None:
    settings = Settings(output_dir=tmp_path / "runs")
    (tmp_path / "runs" / "empty").mkdir(parents=True)
    params = prepare_run(settings, start_date="2026-11-16", end_date="2026-11-22", run_id="empty")
    assert params.run_id == "empty"
    (tmp_path / "runs" / "empty" / "run_metadata.json").write_text("{}")
    with pytest.raises(RunExistsError, match="pass --force"):
        prepare_run(settings, start_date="2026-11-16", end_date="2026-11-22", run_id="empty")
    forced = prepare_run(
        settings, start_date="2026-11-16", end_date="2026-11-22", run_id="empty", force=True
    )
    assert forced.run_id == "empty"


def test_no_worker_says_which_settings_come_from_the_workers(tmp_path: Path) -> None:
    config = tmp_path / "x.yaml"
    config.write_text("retry:\n  maximum_attempts: 2\n")
    code, output = run(*week("--no-worker", "--config", str(config)))
    assert code == 2  # no Temporal at TEMPORAL_ADDRESS: the notice comes before connecting
    text = " ".join(output.split())
    assert "--no-worker: the workers use their own storage (output_dir), tokens, parsing" in text
    assert "this run takes only its dates, users, run id" in text
    assert "x.yaml" in text
