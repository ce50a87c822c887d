"""What ``volt-agent doctor`` reports: one ``Check`` per line, and the offline checks.

A check is ``ok``, ``warning`` (the run works, but maybe not as the user expects), ``error``
(the run would fail) or ``skip`` (not checked because an earlier check failed or nothing is
configured to check). Every warning and error message ends with what to do about it.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from volt_agent.config import Settings
from volt_agent.errors import ConfigError, UserInputError
from volt_agent.pipeline.client import connect
from volt_agent.pipeline.devserver import (
    LOOPBACK,
    find_temporal_binary,
    port_open,
    server_answers,
)
from volt_agent.pipeline.service import check_output_dir
from volt_agent.storage.atomic import StorageError, StorageUnavailableError
from volt_agent.storage.backends import probe_bucket

Status = Literal["ok", "warning", "error", "skip"]
STATUSES: tuple[Status, ...] = ("ok", "warning", "error", "skip")


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report. ``message`` is one line without a trailing period."""

    name: str
    status: Status
    message: str

    def line(self) -> str:
        return f"{self.status:<7} {self.name}: {self.message}"


def ok(name: str, message: str) -> Check:
    return Check(name, "ok", message)


def warning(name: str, message: str) -> Check:
    return Check(name, "warning", message)


def error(name: str, message: str) -> Check:
    return Check(name, "error", message)


def skip(name: str, message: str) -> Check:
    return Check(name, "skip", message)


def exit_code(checks: Iterable[Check]) -> int:
    """0 when no check is an error, else 1."""
    return 1 if any(check.status == "error" for check in checks) else 0


TEMPORAL = "Temporal"
OUTPUT = "Output folder"
STORAGE = "Run storage"


async def check_temporal(settings: Settings) -> Check:
    """The configured server answers (and has the namespace), or the embedded one can start.

    Starts nothing: without ``TEMPORAL_ADDRESS`` a running dev server is connected to, and
    otherwise only the ``temporal`` binary and the port are checked.
    """
    temporal = settings.temporal
    if not temporal.address:
        address = f"{LOOPBACK}:{temporal.dev_server_port}"
        if not await asyncio.to_thread(server_answers, address):
            return await asyncio.to_thread(_embedded_can_start, address, temporal.dev_server_port)
    try:
        _, info = await connect(temporal, settings.data_dir, start_server=False)
    except ConfigError as exc:
        return error(TEMPORAL, str(exc))
    where = "embedded dev server" if info.embedded else "Temporal"
    return ok(TEMPORAL, f"{where} at {info.address} answers, namespace {temporal.namespace!r}")


def _embedded_can_start(address: str, port: int) -> Check:
    if port_open(LOOPBACK, port):
        return error(
            TEMPORAL,
            f"{address} is in use by something that is not a Temporal server: free the port"
            " or change temporal.dev_server_port",
        )
    try:
        binary = find_temporal_binary()
    except ConfigError as exc:
        return error(TEMPORAL, str(exc))
    return ok(
        TEMPORAL,
        f"no server on {address} yet: the embedded dev server will be started by the first"
        f" run ({binary})",
    )


def check_bucket(settings: Settings) -> Check:
    """Run folders go to the ``storage_url`` bucket: one listing proves it exists, answers
    and may be read with these credentials (a write needs the first run)."""
    try:
        location = probe_bucket(settings)
    except (ConfigError, StorageError, StorageUnavailableError) as exc:
        return error(
            STORAGE, f"{exc}: check VOLT_AGENT_STORAGE_URL and the AWS_* settings of this machine"
        )
    return ok(STORAGE, f"{location} answers and may be listed")


def check_output_folder(output_dir: Path) -> Check:
    """``output_dir`` is a writable folder, or can be created; nothing is left behind.

    An existing folder gets a nameless temporary file (deleted on close), which proves more
    than permission bits do (read-only mounts, full quotas are caught too).
    """
    if output_dir.is_dir():
        try:
            with tempfile.TemporaryFile(dir=output_dir) as probe:
                probe.write(b"volt-agent doctor")
        except OSError as exc:
            return error(
                OUTPUT,
                f"{output_dir} is not writable ({exc.strerror or exc}): fix its permissions"
                " or set output_dir / --output-dir",
            )
        return ok(OUTPUT, f"{output_dir} exists and is writable")
    try:
        check_output_dir(output_dir)
    except UserInputError as exc:
        return error(OUTPUT, f"{exc}: set output_dir in config.yaml or VOLT_AGENT_OUTPUT_DIR")
    return ok(OUTPUT, f"{output_dir} does not exist yet and will be created by the first run")
