"""Serve the simulators over real sockets: in a background thread for tests, or blocking for
``volt-agent sandbox serve``."""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Self

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp

from volt_agent.sandbox._common import stats_of
from volt_agent.sandbox.faults import SimulatedDrop
from volt_agent.sandbox.fibery_sim import FiberySimulatorOptions, create_fibery_app
from volt_agent.sandbox.toggl_sim import TogglSimulatorOptions, create_toggl_app
from volt_agent.sandbox.workspace import Workspace, WorkspaceSpec, generate_workspace

DEFAULT_TOGGL_PORT = 8765
DEFAULT_FIBERY_PORT = 8766


class _HideSimulatedDrops(logging.Filter):
    """uvicorn logs an aborted answer as an error; for injected drops that is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], SimulatedDrop))


def _quiet_drops() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideSimulatedDrops) for f in logger.filters):
        logger.addFilter(_HideSimulatedDrops())


class ServedApp:
    """An ASGI app served by uvicorn on ``host`` in a daemon thread.

    ``port=0`` lets the OS choose; ``port`` and ``base_url`` give the real one once started.
    Logging is left to the host process (uvicorn does not reconfigure it) at warning level.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
    ) -> None:
        self.app = app
        self.host = host
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server is not running")
        return self._port

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("the server is already running")
        _quiet_drops()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._requested_port))
        except OSError:
            sock.close()
            raise
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="sandbox-server", daemon=True
        )
        self._server, self._thread, self._socket = server, thread, sock
        self._port = sock.getsockname()[1]
        thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the sandbox server on {self.host} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        self._port = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=10)
        if sock is not None:
            sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class SimulatorHandle:
    """One running simulator as a client sees it, plus its request counters."""

    base_url: str
    token: str
    app: FastAPI

    def stats(self) -> dict[str, int]:
        return stats_of(self.app).snapshot()

    def reset_stats(self) -> None:
        stats_of(self.app).reset()


@dataclass(frozen=True)
class Simulators:
    toggl: SimulatorHandle
    fibery: SimulatorHandle
    workspace: Workspace

    @property
    def workspace_id(self) -> int:
        return self.workspace.workspace_id

    def env(self) -> dict[str, str]:
        """The environment that points volt-agent at these simulators."""
        return {
            "TOGGL_BASE_URL": self.toggl.base_url,
            "TOGGL_API_TOKEN": self.toggl.token,
            "TOGGL_WORKSPACE_ID": str(self.workspace_id),
            "FIBERY_BASE_URL": self.fibery.base_url,
            "FIBERY_API_TOKEN": self.fibery.token,
        }


@contextmanager
def run_simulators(
    workspace: Workspace,
    toggl: TogglSimulatorOptions | None = None,
    fibery: FiberySimulatorOptions | None = None,
    *,
    host: str = "127.0.0.1",
    toggl_port: int = 0,
    fibery_port: int = 0,
) -> Iterator[Simulators]:
    """Serve both simulators over ``workspace`` for the duration of the ``with`` block."""
    toggl = toggl or TogglSimulatorOptions()
    fibery = fibery or FiberySimulatorOptions()
    toggl_app = create_toggl_app(workspace, toggl)
    fibery_app = create_fibery_app(workspace, fibery)
    with ExitStack() as stack:
        toggl_server = stack.enter_context(ServedApp(toggl_app, host=host, port=toggl_port))
        fibery_server = stack.enter_context(ServedApp(fibery_app, host=host, port=fibery_port))
        yield Simulators(
            toggl=SimulatorHandle(toggl_server.base_url, toggl.token, toggl_app),
            fibery=SimulatorHandle(fibery_server.base_url, fibery.token, fibery_app),
            workspace=workspace,
        )


def serve_sandbox(
    spec: WorkspaceSpec | None = None,
    *,
    host: str = "127.0.0.1",
    toggl_port: int = DEFAULT_TOGGL_PORT,
    fibery_port: int = DEFAULT_FIBERY_PORT,
    toggl_options: TogglSimulatorOptions | None = None,
    fibery_options: FiberySimulatorOptions | None = None,
    print_fn: Callable[[str], object] = print,
    stop_event: threading.Event | None = None,
) -> None:
    """Generate a workspace, serve both simulators and print how to reach them.

    Blocks until Ctrl+C, SIGTERM (when called from the main thread) or ``stop_event``.
    """
    spec = spec or WorkspaceSpec()
    workspace = generate_workspace(spec)
    stop = stop_event or threading.Event()
    with run_simulators(
        workspace,
        toggl_options,
        fibery_options,
        host=host,
        toggl_port=toggl_port,
        fibery_port=fibery_port,
    ) as simulators:
        entity_count = sum(len(items) for items in workspace.fibery_entities.values())
        print_fn(
            f"Sandbox workspace {workspace.workspace_id}: {spec.users} users,"
            f" {len(workspace.time_entries)} time entries from {spec.start_date.isoformat()}"
            f" over {spec.days} days, {entity_count} Fibery entities (seed {spec.seed})"
        )
        print_fn(f"Toggl simulator:  {simulators.toggl.base_url}")
        print_fn(f"Fibery simulator: {simulators.fibery.base_url}")
        print_fn("Environment for volt-agent (sandbox tokens, safe to share):")
        for name, value in simulators.env().items():
            print_fn(f"{name}={value}")
        print_fn("Press Ctrl+C to stop.")
        _wait(stop)


def _wait(stop: threading.Event) -> None:
    previous = None
    if threading.current_thread() is threading.main_thread():

        def on_term(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = signal.signal(signal.SIGTERM, on_term)
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
