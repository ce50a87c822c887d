"""The doctor's offline checks: the output folder and the Temporal connection."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from volt_agent.config import Settings, TemporalSettings
from volt_agent.doctor.checks import Check, check_output_folder, check_temporal, exit_code
from volt_agent.pipeline.devserver import free_ports


def test_an_existing_writable_folder_is_ok_and_stays_empty(tmp_path: Path) -> None:
    check = check_output_folder(tmp_path)
    assert (check.status, check.message) == ("ok", f"{tmp_path} exists and is writable")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_under_a_writable_one_is_ok_and_not_created(tmp_path: Path) -> None:
    target = tmp_path / "runs" / "here"
    check = check_output_folder(target)
    assert check.status == "ok"
    assert "will be created" in check.message
    assert not (tmp_path / "runs").exists()


def test_a_file_in_the_way_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "report.txt").write_text("x")
    check = check_output_folder(tmp_path / "report.txt" / "runs")
    assert check.status == "error"
    assert "report.txt is not a directory" in check.message
    assert "VOLT_AGENT_OUTPUT_DIR" in check.message


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_folder_is_an_error(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        check = check_output_folder(tmp_path)
    finally:
        tmp_path.chmod(0o700)
    assert check.status == "error"
    assert "not writable" in check.message


def test_exit_code_is_1_only_with_an_error() -> None:
    assert exit_code([Check("a", "ok", ""), Check("b", "warning", ""), Check("c", "skip", "")]) == 0
    assert exit_code([Check("a", "ok", ""), Check("b", "error", "")]) == 1


def test_a_check_is_one_aligned_line() -> None:
    assert Check("Temporal", "ok", "fine").line() == "ok      Temporal: fine"
    assert Check("LLM", "warning", "hm").line() == "warning LLM: hm"


def settings(tmp_path: Path, **temporal: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", temporal=TemporalSettings.model_validate(temporal))


async def test_an_unreachable_temporal_address_is_an_error(tmp_path: Path) -> None:
    check = await check_temporal(settings(tmp_path, address="127.0.0.1:9"))
    assert check.status == "error"
    assert "cannot reach Temporal at 127.0.0.1:9" in check.message
    assert "TEMPORAL_ADDRESS" in check.message


async def test_without_a_server_the_embedded_one_will_be_started(tmp_path: Path) -> None:
    [port] = free_ports()
    check = await check_temporal(settings(tmp_path, dev_server_port=port))
    assert check.status == "ok"
    assert f"no server on 127.0.0.1:{port} yet: the embedded dev server will be started" in (
        check.message
    )
    assert not (tmp_path / "data").exists()


@pytest.fixture
def not_temporal() -> Iterator[int]:
    """A loopback port that accepts connections and closes them at once."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


async def test_a_port_held_by_something_else_is_an_error(tmp_path: Path, not_temporal: int) -> None:
    check = await check_temporal(settings(tmp_path, dev_server_port=not_temporal))
    assert check.status == "error"
    assert "is in use by something that is not a Temporal server" in check.message
