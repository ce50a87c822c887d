"""``read_report``: only regular files under the run's ``reports/`` folder, else not found."""

from __future__ import annotations

from pathlib import Path

import pytest

from volt_agent.config import Settings
from volt_agent.runs import RunNotFoundError, read_report
from volt_agent.storage.run_folder import RunFolder


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    folder = RunFolder(tmp_path / "runs", "run-1")
    folder.save_text("reports/team_summary.md", "# Team\n")
    folder.save_text("reports/individual/ada-1.md", "# Ada\n")
    folder.save_text("raw_toggl_data.json", "{}")
    RunFolder(tmp_path / "runs", "run-2").save_text("reports/other.md", "x")
    (tmp_path / "secret.txt").write_text("secret")
    (folder.path / "reports" / "out.md").symlink_to(tmp_path / "secret.txt")
    (folder.path / "reports" / "loop.md").symlink_to(folder.path / "reports" / "loop.md")
    return Settings(output_dir=tmp_path / "runs")


@pytest.mark.parametrize("path", ["team_summary.md", "individual/ada-1.md", "./team_summary.md"])
def test_reports_inside_are_served(settings: Settings, path: str) -> None:
    report = read_report(settings, "run-1", path)
    assert report.content.startswith(b"# ")
    assert report.media_type == "text/markdown; charset=utf-8"


@pytest.mark.parametrize(
    "path",
    [
        "",
        "../raw_toggl_data.json",
        "../../secret.txt",
        "../../run-2/reports/other.md",
        "individual/../../raw_toggl_data.json",
        "/etc/passwd",
        "..\\raw_toggl_data.json",
        "team_summary.md\x00",
        "out.md",
        "loop.md",
        "individual",
        "x" * 5000,
        "missing.md",
    ],
)
def test_everything_else_is_not_found(settings: Settings, path: str) -> None:
    with pytest.raises(RunNotFoundError):
        read_report(settings, "run-1", path)


@pytest.mark.parametrize("run_id", ["..", "../run-1", "run-1/..", ".hidden"])
def test_bad_run_ids_are_not_found(settings: Settings, run_id: str) -> None:
    with pytest.raises(RunNotFoundError):
        read_report(settings, run_id, "team_summary.md")
