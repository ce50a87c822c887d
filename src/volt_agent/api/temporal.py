"""The API's Temporal connection and its health checks.

The app starts whether or not Temporal answers: read endpoints fall back to the run folders,
``/health`` says what is wrong, and the connection is retried at most every
``RETRY_SECONDS`` so a down server does not slow every request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from temporalio.client import Client
from temporalio.service import RPCError

from volt_agent.api.models import Check
from volt_agent.config import Settings
from volt_agent.errors import ConfigError, UserInputError
from volt_agent.pipeline.client import connect
from volt_agent.pipeline.service import check_output_dir as check_writable_folder
from volt_agent.pipeline.service import workflow_pollers
from volt_agent.storage.atomic import StorageError, StorageUnavailableError
from volt_agent.storage.backends import probe_bucket

RETRY_SECONDS = 5.0
HEALTH_TTL_SECONDS = 2.0
"""``/health`` answers from its last check for this long (it is open to anyone)."""

Connector = Callable[[], Awaitable[Client]]


class TemporalGateway:
    """One lazily connected client per app (per event loop)."""

    def __init__(self, settings: Settings, connector: Connector | None = None) -> None:
        self._settings = settings
        self._connector = connector or self._connect
        self._client: Client | None = None
        self._error: ConfigError | None = None
        self._retry_at = 0.0
        self._lock = asyncio.Lock()
        self.cached_health: tuple[float, Check, Check] | None = None
        """``(monotonic time, temporal, workers)`` of the last ``/health`` check."""
        self.cached_storage: tuple[float, Check] | None = None

    async def _connect(self) -> Client:
        client, _ = await connect(
            self._settings.temporal, self._settings.data_dir, start_server=False
        )
        return client

    async def client(self) -> Client:
        """The client; ``ConfigError`` (one line) while Temporal cannot be reached."""
        async with self._lock:
            if self._client is not None:
                return self._client
            if self._error is not None and time.monotonic() < self._retry_at:
                raise self._error
            try:
                self._client = await self._connector()
            except ConfigError as exc:
                self._error, self._retry_at = exc, time.monotonic() + RETRY_SECONDS
                raise
            return self._client

    async def optional_client(self) -> Client | None:
        try:
            return await self.client()
        except ConfigError:
            return None


async def check_temporal_and_workers(
    gateway: TemporalGateway, task_queue: str
) -> tuple[Check, Check]:
    """Temporal reachable, and workers polling ``task_queue``: one ``DescribeTaskQueue`` RPC
    (an answer proves Temporal is up), its result kept ``HEALTH_TTL_SECONDS`` so a burst of
    probes of the open ``/health`` costs Temporal nothing more."""
    cached = gateway.cached_health
    if cached is not None and time.monotonic() - cached[0] < HEALTH_TTL_SECONDS:
        return cached[1], cached[2]
    temporal, workers = await _check_once(gateway, task_queue)
    gateway.cached_health = (time.monotonic(), temporal, workers)
    return temporal, workers


async def _check_once(gateway: TemporalGateway, task_queue: str) -> tuple[Check, Check]:
    unknown = Check(ok=False, detail="unknown: Temporal is not reachable")
    try:
        client = await gateway.client()
        pollers = await workflow_pollers(client, task_queue)
    except ConfigError as exc:
        return Check(ok=False, detail=str(exc)), unknown
    except RPCError as exc:
        return Check(ok=False, detail=f"Temporal did not answer: {exc.message}"), unknown
    temporal = Check(ok=True, detail=f"namespace {client.namespace} reachable")
    if pollers:
        return temporal, Check(ok=True, detail=f"task queue {task_queue}: {pollers} worker(s)")
    return temporal, Check(ok=False, detail=f"no worker polls task queue {task_queue}")


async def check_run_storage(gateway: TemporalGateway, settings: Settings) -> Check:
    """Where run folders go: with ``storage_url``, the bucket answers one listing (kept
    ``HEALTH_TTL_SECONDS`` like the Temporal check, and nothing written); else the output
    folder is writable."""
    if not settings.storage_url:
        return check_output_dir(settings)
    cached = gateway.cached_storage
    if cached is not None and time.monotonic() - cached[0] < HEALTH_TTL_SECONDS:
        return cached[1]
    try:
        location = await asyncio.to_thread(probe_bucket, settings)
        check = Check(ok=True, detail=f"{location} answers")
    except (ConfigError, StorageError, StorageUnavailableError) as exc:
        check = Check(ok=False, detail=str(exc))
    gateway.cached_storage = (time.monotonic(), check)
    return check


def check_output_dir(settings: Settings) -> Check:
    """The output folder is a writable folder, or can be created by the first run; checked
    with ``os.access`` only: nothing is created or written."""
    root = settings.output_dir
    try:
        check_writable_folder(root)
    except UserInputError as exc:
        return Check(ok=False, detail=str(exc))
    if root.is_dir():
        return Check(ok=True, detail=f"{root} is writable")
    return Check(ok=True, detail=f"{root} does not exist yet; the first run creates it")
