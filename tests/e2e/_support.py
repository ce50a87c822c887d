"""Helpers of the end-to-end tests: real ``volt-agent`` processes against in-test simulators.

The simulators run in the test process (real loopback sockets); the CLI and the workers are
subprocesses that see only the environment built here (no inherited tokens, no ``.env``),
a config file written per test and, unless a test brings its own, the session's throwaway
Temporal dev server (``TEMPORAL_ADDRESS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from volt_agent.demo import sandbox_timezones
from volt_agent.sandbox import Simulators

REPO = Path(__file__).parents[2]
CLI = [sys.executable, "-m", "volt_agent.cli"]


def write_config(folder: Path, sims: Simulators | None = None, **sections: Any) -> Path:
    """The repository's config with run folders under ``folder``, pointed at ``sims``.

    ``sections`` update whole sections key by key, e.g. ``retry={"maximum_attempts": 3}``.
    """
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
    config["output_dir"] = str(folder / "runs")
    config["data_dir"] = str(folder / "data")
    if sims is not None:
        config["toggl"].update(
            base_url=sims.toggl.base_url,
            workspace_id=sims.workspace_id,
            timezones=sandbox_timezones(sims.workspace),
        )
        config["fibery"]["base_url"] = sims.fibery.base_url
    for section, values in sections.items():
        config.setdefault(section, {}).update(values)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    (folder / "enrichment_config.yaml").write_text(
        (REPO / "config" / "enrichment_config.yaml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    return path


def cli_env(home: Path, sims: Simulators | None = None, **extra: str) -> dict[str, str]:
    """A minimal environment: the venv's PATH, the simulators' tokens, ``extra``."""
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(home), "LANG": "C.UTF-8"}
    if sims is not None:
        env |= {"TOGGL_API_TOKEN": sims.toggl.token, "FIBERY_API_TOKEN": sims.fibery.token}
    return env | extra


def run_cli(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI, fixed argv
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
        check=False,
    )


@contextlib.contextmanager
def worker_process(
    config: Path, env: dict[str, str], log: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A ``volt-agent worker`` process (in ``cwd``, default the config's folder) that polls
    once this yields; killed at the end."""
    with log.open("ab") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI, fixed argv
            [*CLI, "worker", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd or config.parent,
        )
    try:
        deadline = time.monotonic() + 60
        while b"Worker polling" not in log.read_bytes():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"the worker did not start: {log.read_text()}"
            time.sleep(0.1)
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT (a worker's Ctrl-C), SIGKILL if it does not end within 10 s; reaped."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def client_of(address: str) -> Client:
    return await Client.connect(address, data_converter=pydantic_data_converter)


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float, what: str, interval: float = 0.1
) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(interval)


def json_files_parse(folder: Path) -> list[Path]:
    """Every ``*.json`` under ``folder`` (each must parse); no temp files may be left."""
    leftovers = [p for p in folder.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers, f"temp files left behind: {leftovers}"
    files = sorted(folder.rglob("*.json"))
    for path in files:
        json.loads(path.read_text(encoding="utf-8"))
    return files


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]
