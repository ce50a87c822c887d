"""The API's Temporal connection and its health checks.

The app starts whether or not Temporal answers: read endpoints fall back to the run folders,
``/health`` says what is wrong, and the connection is retried at most every
``RETRY_SECONDS`` so a down server does not slow every request.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, GetSystemInfoRequest
from temporalio.client import Client
from temporalio.service import RPCError

from volt_agent.api.models import Check
from volt_agent.config import Settings
from volt_agent.errors import ConfigError
from volt_agent.pipeline.client import connect

RETRY_SECONDS = 5.0
POLLER_FRESH = timedelta(minutes=3)
"""A worker long-polls for about a minute at a time; older pollers are gone."""
RPC_TIMEOUT = timedelta(seconds=5)
NORMAL = TaskQueueKind.TASK_QUEUE_KIND_NORMAL

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


async def check_temporal(gateway: TemporalGateway) -> tuple[Check, Client | None]:
    try:
        client = await gateway.client()
        await client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=RPC_TIMEOUT)
    except ConfigError as exc:
        return Check(ok=False, detail=str(exc)), None
    except RPCError as exc:
        return Check(ok=False, detail=f"Temporal did not answer: {exc.message}"), None
    return Check(ok=True, detail=f"namespace {client.namespace} reachable"), client


async def check_workers(client: Client | None, task_queue: str) -> Check:
    """Workers are present when both workflow and activity pollers polled recently."""
    if client is None:
        return Check(ok=False, detail="unknown: Temporal is not reachable")
    fresh_after = datetime.now(UTC) - POLLER_FRESH
    counts = {}
    try:
        for kind, name in (
            (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, "workflow"),
            (TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, "activity"),
        ):
            response = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=client.namespace,
                    task_queue=TaskQueue(
                        name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL
                    ),
                    task_queue_type=kind,
                ),
                timeout=RPC_TIMEOUT,
            )
            counts[name] = sum(
                1
                for poller in response.pollers
                if poller.last_access_time.ToDatetime(tzinfo=UTC) >= fresh_after
            )
    except RPCError as exc:
        return Check(ok=False, detail=f"cannot describe task queue {task_queue}: {exc.message}")
    ok = all(counts.values())
    detail = (
        f"task queue {task_queue}: {counts['workflow']} workflow"
        f" and {counts['activity']} activity pollers"
    )
    return Check(ok=ok, detail=detail if ok else f"no worker polls {detail}")


def check_output_dir(settings: Settings) -> Check:
    """The output folder exists (created if missing) and a file can be written in it."""
    root = settings.output_dir
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".health-", dir=root)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return Check(ok=False, detail=f"{root} is not writable: {exc.strerror or exc}")
    return Check(ok=True, detail=f"{root} is writable")
