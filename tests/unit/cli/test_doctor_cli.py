"""``volt-agent doctor`` and ``--record`` at the CLI boundary, with nothing configured."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from volt_agent.cli import app

runner = CliRunner()
ENV = (
    "TOGGL_API_TOKEN",
    "FIBERY_API_TOKEN",
    "OPENAI_API_KEY",
    "FIBERY_BASE_URL",
    "TOGGL_WORKSPACE_ID",
    "VOLT_AGENT_OUTPUT_DIR",
)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:9")
    return tmp_path


def lines(*args: str) -> tuple[int, list[str]]:
    result = runner.invoke(app, list(args))
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


def test_nothing_configured_is_one_line_per_check_and_exit_1() -> None:
    code, output = lines("doctor")
    assert code == 1
    assert [line.split(":")[0] for line in output] == [
        "error   Toggl token",
        "skip    Toggl workspace",
        "skip    Toggl visibility",
        "skip    Toggl plan",
        "skip    Toggl reports",
        "skip    Toggl quota",
        "error   Fibery access",
        "skip    Fibery enrichment config",
        "ok      LLM",
        "error   Temporal",
        "ok      Output folder",
    ]
    assert "TOGGL_API_TOKEN is not set" in output[0]
    assert "FIBERY_API_TOKEN is not set" in output[6]
    assert "cannot reach Temporal at 127.0.0.1:9" in output[9]
    assert not Path("tmp").exists()


def test_a_missing_fibery_url_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIBERY_API_TOKEN", "f" * 20)
    code, output = lines("doctor")
    assert code == 1
    [fibery] = [line for line in output if "Fibery access" in line]
    assert "FIBERY_BASE_URL is not set" in fibery
    assert "f" * 20 not in "\n".join(output)


def test_record_into_a_file_is_refused_with_one_line() -> None:
    Path("occupied.txt").write_text("x")
    code, output = lines("doctor", "--record", "occupied.txt")
    assert code == 2
    assert len(output) == 1
    assert "a file is in the way" in output[0]


def test_run_record_needs_the_in_process_worker() -> None:
    code, output = lines(
        "run",
        "--start-date",
        "2026-11-16",
        "--end-date",
        "2026-11-22",
        "--no-worker",
        "--record",
        "rec",
    )
    assert code == 2
    assert len(output) == 1
    assert "drop --no-worker" in output[0]
    assert not Path("rec").exists()


def test_help_lists_doctor_and_record() -> None:
    code, output = lines("--help")
    assert code == 0
    assert any("doctor" in line for line in output)
    code, output = lines("doctor", "--help")
    assert code == 0
    assert any("--record" in line for line in output)
    code, output = lines("run", "--help")
    assert any("--record" in line for line in output)
