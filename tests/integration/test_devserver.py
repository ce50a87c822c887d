"""The embedded Temporal dev server and the client factory, against real ``temporal`` processes."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel
from temporalio import workflow
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import TLSConfig
from temporalio.worker import Worker

from volt_agent.config import TemporalSettings
from volt_agent.errors import ConfigError
from volt_agent.pipeline.client import connect, tls_from_env
from volt_agent.pipeline.devserver import (
    DB_FILE,
    LOG_FILE,
    LOOPBACK,
    PID_FILE,
    DevServer,
    dev_server_status,
    ensure_dev_server,
    free_ports,
    port_open,
    stop_dev_server,
)

pytestmark = pytest.mark.integration


class Greeting(BaseModel):
    name: str
    times: int


@workflow.defn
class GreetWorkflow:
    @workflow.run
    async def run(self, greeting: Greeting) -> Greeting:
        return Greeting(name=f"hello {greeting.name}", times=greeting.times + 1)


async def greet(client: Client, task_queue: str, workflow_id: str) -> Greeting:
    async with Worker(client, task_queue=task_queue, workflows=[GreetWorkflow]):
        return await client.execute_workflow(
            GreetWorkflow.run, Greeting(name="volt", times=1), id=workflow_id, task_queue=task_queue
        )


def embedded_settings() -> TemporalSettings:
    port, ui_port = free_ports(2)
    return TemporalSettings(dev_server_port=port, dev_server_ui_port=ui_port)


@contextlib.contextmanager
def stopped_at_exit(data_dir: Path) -> Iterator[None]:
    """Stop a detached server started under ``data_dir`` even when the test fails."""
    try:
        yield
    finally:
        stop_dev_server(data_dir)


async def test_throwaway_server_runs_a_workflow_with_pydantic_io(
    temporal_client: Client, task_queue: str
) -> None:
    result = await greet(temporal_client, task_queue, f"greet-{uuid.uuid4()}")

    assert result == Greeting(name="hello volt", times=2)


def test_address_set_never_starts_anything(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    data_dir = tmp_path / "data"
    settings = TemporalSettings(address=f"{LOOPBACK}:{port}", namespace="elsewhere")

    info = ensure_dev_server(settings, data_dir)

    assert (info.address, info.started, info.embedded, info.pid) == (
        f"{LOOPBACK}:{port}",
        False,
        False,
        None,
    )
    assert not data_dir.exists()  # no pid file, no log, no database
    assert not port_open(LOOPBACK, port)


async def test_unreachable_address_is_one_line_config_error(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    settings = TemporalSettings(address=f"{LOOPBACK}:{port}")

    with pytest.raises(ConfigError) as caught:
        await connect(settings, tmp_path / "data", env={})

    message = str(caught.value)
    assert message.startswith(f"cannot reach Temporal at {LOOPBACK}:{port}: ")
    assert "check TEMPORAL_ADDRESS or unset it to use the embedded dev server" in message
    assert "\n" not in message
    assert not (tmp_path / "data").exists()


async def test_running_server_on_the_configured_port_is_reused(
    temporal_dev_server: DevServer, tmp_path: Path
) -> None:
    settings = temporal_dev_server.settings()

    info = ensure_dev_server(settings, tmp_path)
    client, via_connect = await connect(settings, tmp_path)

    assert (info.address, info.started, info.embedded) == (
        temporal_dev_server.address,
        False,
        True,
    )
    assert info.pid is None  # not a server this data dir started
    assert via_connect == info
    assert client.data_converter is pydantic_data_converter
    assert not (tmp_path / PID_FILE).exists()


def test_port_held_by_something_else_is_reported(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen()
        stop = threading.Event()

        def hang_up() -> None:
            while not stop.is_set():
                with contextlib.suppress(OSError):
                    conn, _ = listener.accept()
                    conn.close()

        listener.settimeout(0.2)
        thread = threading.Thread(target=hang_up, daemon=True)
        thread.start()
        settings = TemporalSettings(dev_server_port=listener.getsockname()[1])
        try:
            with pytest.raises(ConfigError, match="not a Temporal server"):
                ensure_dev_server(settings, tmp_path)
        finally:
            stop.set()
            thread.join()
    assert not (tmp_path / PID_FILE).exists()


def test_startup_failure_names_the_log(tmp_path: Path) -> None:
    (tmp_path / DB_FILE).mkdir()  # the server cannot open a directory as its database

    with stopped_at_exit(tmp_path), pytest.raises(ConfigError) as caught:
        ensure_dev_server(embedded_settings(), tmp_path, startup_timeout=20)

    assert str(tmp_path / LOG_FILE) in str(caught.value)
    assert not (tmp_path / PID_FILE).exists()


def test_detached_server_lifecycle(tmp_path: Path) -> None:
    settings = embedded_settings()
    port = settings.dev_server_port

    with stopped_at_exit(tmp_path):
        info = ensure_dev_server(settings, tmp_path)

        assert info.started
        assert info.embedded
        assert info.address == f"{LOOPBACK}:{port}"
        assert info.ui_url == f"http://{LOOPBACK}:{settings.dev_server_ui_port}"
        assert info.pid is not None
        assert os.getsid(info.pid) != os.getsid(0)  # own session: outlives the CLI
        assert (tmp_path / PID_FILE).read_text().strip() == str(info.pid)
        assert (tmp_path / DB_FILE).is_file()
        assert (tmp_path / LOG_FILE).is_file()
        status = dev_server_status(settings, tmp_path)
        assert (status.running, status.pid, status.address) == (True, info.pid, info.address)
        again = ensure_dev_server(settings, tmp_path)
        assert (again.started, again.pid) == (False, info.pid)

        assert stop_dev_server(tmp_path)

        assert not port_open(LOOPBACK, port)
        assert not (tmp_path / PID_FILE).exists()
        assert not dev_server_status(settings, tmp_path).running
        assert not stop_dev_server(tmp_path)
        assert (tmp_path / DB_FILE).is_file()


def test_pid_file_naming_another_process_is_not_signalled(tmp_path: Path) -> None:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as other:
        try:
            (tmp_path / PID_FILE).write_text(f"{other.pid}\n")  # alive, but not a dev server

            assert not stop_dev_server(tmp_path)

            assert other.poll() is None
            assert not (tmp_path / PID_FILE).exists()
        finally:
            other.kill()


async def test_history_survives_a_restart_of_the_embedded_server(tmp_path: Path) -> None:
    settings = embedded_settings()
    workflow_id = f"greet-{uuid.uuid4()}"

    with stopped_at_exit(tmp_path):
        client, info = await connect(settings, tmp_path)
        assert info.started
        await greet(client, "restart-queue", workflow_id)
        assert stop_dev_server(tmp_path)

        client, info = await connect(settings, tmp_path)
        assert info.started
        handle = client.get_workflow_handle_for(GreetWorkflow.run, workflow_id)
        description = await handle.describe()
        result = await handle.result()

    assert description.status == WorkflowExecutionStatus.COMPLETED
    assert result == Greeting(name="hello volt", times=2)


async def test_no_server_and_no_start_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no Temporal server answers"):
        await connect(embedded_settings(), tmp_path, start_server=False)

    assert not (tmp_path / PID_FILE).exists()


def test_tls_settings_come_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "c.pem").write_bytes(b"CERT")
    (tmp_path / "k.pem").write_bytes(b"KEY")
    env = {
        "TEMPORAL_TLS_CERT": str(tmp_path / "c.pem"),
        "TEMPORAL_TLS_KEY": str(tmp_path / "k.pem"),
    }

    tls, api_key = tls_from_env(env)

    assert isinstance(tls, TLSConfig)
    assert (tls.client_cert, tls.client_private_key, tls.server_root_ca_cert) == (
        b"CERT",
        b"KEY",
        None,
    )
    assert api_key is None
    assert tls_from_env({}) == (False, None)
    assert tls_from_env({"TEMPORAL_API_KEY": "k"}) == (True, "k")
    with pytest.raises(ConfigError, match="both TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY"):
        tls_from_env({"TEMPORAL_TLS_CERT": str(tmp_path / "c.pem")})
    with pytest.raises(ConfigError, match="TEMPORAL_TLS_CA: cannot read"):
        tls_from_env({"TEMPORAL_TLS_CA": str(tmp_path / "missing.pem")})
