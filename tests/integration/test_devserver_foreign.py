"""A dev server on the port that another checkout started: named, reused while it works,
refused in one line once its data folder is deleted, and never stopped by this checkout."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from volt_agent.cli import app
from volt_agent.errors import ConfigError
from volt_agent.pipeline.devserver import (
    DevServer,
    dev_server_status,
    ensure_dev_server,
    port_owner,
)

pytestmark = pytest.mark.integration
runner = CliRunner()


def cli(tmp_path: Path, server: DevServer, *args: str) -> tuple[int, str]:
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(tmp_path / "data"),
                "output_dir": str(tmp_path / "runs"),
                "temporal": {"dev_server_port": server.port, "dev_server_ui_port": server.ui_port},
            }
        )
    )
    result = runner.invoke(app, [*args, "--config", str(config)])
    return result.exit_code, " ".join(result.output.split())


def test_a_foreign_server_is_named_reused_then_refused_when_its_data_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    monkeypatch.chdir(tmp_path)
    ours = tmp_path / "data"
    with DevServer(db_path=tmp_path / "other-checkout" / "temporal.db") as other:
        settings = other.settings()
        owner = port_owner(other.port, ours)
        assert owner is not None
        assert (owner.pid, owner.ours, owner.data_missing) == (other.pid, False, False)
        assert owner.db_path == other.db_path
        reused = ensure_dev_server(settings, ours)
        assert reused.foreign == owner
        assert not reused.started
        code, status = cli(tmp_path, other, "server", "status")
        assert code == 0
        assert f"started by another checkout or by hand (pid {other.pid}" in status

        # the other checkout was deleted: moved away in one step, since rmtree raced the
        # server creating its SQLite journal files ("Directory not empty", stop 18)
        other.db_path.parent.rename(tmp_path / "deleted-checkout")

        with pytest.raises(ConfigError) as refused:
            ensure_dev_server(settings, ours)
        message = str(refused.value)
        assert "\n" not in message
        assert f"started by another checkout (pid {other.pid}, data {other.db_path}" in message
        assert f"`kill {other.pid}`" in message
        assert "TEMPORAL_ADDRESS" in message
        after = dev_server_status(settings, ours)
        assert after.running
        assert after.usable is False
        assert after.owner is not None
        assert after.owner.data_missing

        code, status = cli(tmp_path, other, "server", "status")
        assert code == 1
        assert f"pid {other.pid}" in status
        assert "(deleted)" in status
        code, stop = cli(tmp_path, other, "server", "stop")
        assert code == 0
        assert "no embedded Temporal dev server started by this checkout is running" in stop
        assert f"`kill {other.pid}`" in stop
        assert port_owner(other.port, ours) is not None  # `server stop` left it running

        code, run = cli(
            tmp_path, other, "run", "--start-date", "2026-11-16", "--end-date", "2026-11-22",
            "--no-worker",
        )  # fmt: skip
        assert code == 2
        assert "Traceback" not in run
        assert "RPCError" not in run
        assert f"started by another checkout (pid {other.pid}" in run
