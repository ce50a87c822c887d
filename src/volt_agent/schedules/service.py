"""Scheduled runs on Temporal Schedules: create, list, delete, trigger.

A schedule ``NAME`` is the Temporal Schedule ``volt-agent-NAME``; each firing starts
``ScheduledPipeline`` (see ``schedules.workflow``), which resolves the window's dates at run
time and runs the pipeline under a run id of its own. What the schedule was created with
(cron, window, users, time zone) is kept in its memo so ``schedule list`` can show it.
Shared by the CLI and the HTTP API; errors are ``UserInputError`` with one line.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleHandle,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.service import RPCError, RPCStatusCode

from volt_agent.config import Settings
from volt_agent.errors import UserInputError
from volt_agent.pipeline.service import _parse_users, parse_deliver
from volt_agent.pipeline.types import WorkflowOptions
from volt_agent.schedules.windows import WINDOWS, Window
from volt_agent.schedules.workflow import SCHEDULED_WORKFLOW_NAME, ScheduledPipelineInput

SCHEDULE_ID_PREFIX = "volt-agent-"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$")
CATCHUP_WINDOW = timedelta(hours=1)
"""A firing missed while Temporal was down runs late only within this window."""
MEMO_KEY = "volt_agent"


class ScheduleNotFoundError(UserInputError):
    """No volt-agent schedule of that name."""


class ScheduleExistsError(UserInputError):
    """A schedule of that name exists already."""


class RecentRun(BaseModel):
    scheduled_at: datetime
    started_at: datetime
    workflow_id: str


class ScheduleSummary(BaseModel):
    name: str
    schedule_id: str
    cron: str
    window: str
    users: list[str] | None = None
    timezone: str = "UTC"
    paused: bool = False
    next_runs: list[datetime] = Field(default_factory=list)
    recent_runs: list[RecentRun] = Field(default_factory=list)


def schedule_id(name: str) -> str:
    return f"{SCHEDULE_ID_PREFIX}{validate_name(name)}"


def validate_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise UserInputError(
            f"invalid schedule name {name!r}: use 1-50 letters, digits, '_' or '-'"
            " starting with a letter or digit"
        )
    return name


def validate_window(window: str) -> Window:
    if window not in WINDOWS:
        raise UserInputError(f"--window must be one of {', '.join(WINDOWS)}, not {window!r}")
    return cast(Window, window)


def _validate_timezone(timezone: str) -> str:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserInputError(
            f"unknown time zone {timezone!r}: use an IANA name such as Europe/Berlin"
        ) from None
    return timezone


async def create_schedule(
    client: Client,
    settings: Settings,
    *,
    name: str,
    cron: str,
    window: str,
    users: str | list[str] | None = None,
    timezone: str = "UTC",
    paused: bool = False,
    deliver: str | list[str] | None = None,
) -> ScheduleSummary:
    """Create schedule ``name``; refuses a name in use, a bad window, cron or time zone.

    ``deliver``: delivery channels every run of the schedule opts into (``--deliver``)."""
    sid = schedule_id(name)
    params = ScheduledPipelineInput(
        schedule=name,
        window=validate_window(window),
        users=_parse_users(",".join(users) if isinstance(users, list) else users),
        timezone=_validate_timezone(timezone),
        options=WorkflowOptions.from_settings(settings).model_copy(
            update={
                "deliver": parse_deliver(
                    ",".join(deliver) if isinstance(deliver, list) else deliver
                )
            }
        ),
    )
    if not cron.strip():
        raise UserInputError("--cron is empty: give a cron expression such as '0 7 * * MON'")
    timeout = timedelta(seconds=settings.temporal.workflow_timeout_seconds + 600)
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            SCHEDULED_WORKFLOW_NAME,
            params,
            id=f"volt-agent-schedule-{name}",
            task_queue=settings.temporal.task_queue,
            execution_timeout=timeout,
        ),
        spec=ScheduleSpec(cron_expressions=[cron.strip()], time_zone_name=params.timezone),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
        state=ScheduleState(paused=paused, note="created by volt-agent"),
    )
    memo = {
        "cron": cron.strip(),
        "window": params.window,
        "users": params.users,
        "timezone": params.timezone,
    }
    try:
        handle = await client.create_schedule(sid, schedule, memo={MEMO_KEY: memo})
    except ScheduleAlreadyRunningError:
        raise ScheduleExistsError(
            f"schedule {name!r} already exists: delete it first (volt-agent schedule delete {name})"
        ) from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.INVALID_ARGUMENT:
            raise UserInputError(f"invalid schedule (cron {cron!r}): {exc.message}") from None
        raise
    return await _describe(handle, name)


async def list_schedules(client: Client) -> list[ScheduleSummary]:
    """Every volt-agent schedule, by name. Reads each one (the list view lacks the memo)."""
    ids = []
    async for entry in await client.list_schedules():
        if entry.id.startswith(SCHEDULE_ID_PREFIX):
            ids.append(entry.id)
    summaries = []
    for sid in sorted(ids):
        try:
            summaries.append(
                await _describe(client.get_schedule_handle(sid), sid[len(SCHEDULE_ID_PREFIX) :])
            )
        except ScheduleNotFoundError:  # deleted between list and describe
            continue
    return summaries


async def describe_schedule(client: Client, name: str) -> ScheduleSummary:
    return await _describe(client.get_schedule_handle(schedule_id(name)), name)


async def delete_schedule(client: Client, name: str) -> None:
    handle = client.get_schedule_handle(schedule_id(name))
    try:
        await handle.delete()
    except RPCError as exc:
        raise _not_found(name, exc) from None


async def trigger_schedule(client: Client, name: str) -> None:
    """Fire schedule ``name`` now (skipped if its previous run is still going)."""
    handle = client.get_schedule_handle(schedule_id(name))
    try:
        await handle.trigger()
    except RPCError as exc:
        raise _not_found(name, exc) from None


async def _describe(handle: ScheduleHandle, name: str) -> ScheduleSummary:
    try:
        description = await handle.describe()
    except RPCError as exc:
        raise _not_found(name, exc) from None
    memo: dict[str, Any] = await description.memo_value(MEMO_KEY, default={})
    info = description.info
    recent = [
        RecentRun(
            scheduled_at=result.scheduled_at,
            started_at=result.started_at,
            workflow_id=result.action.workflow_id,
        )
        for result in info.recent_actions
        if isinstance(result.action, ScheduleActionExecutionStartWorkflow)
    ]
    return ScheduleSummary(
        name=name,
        schedule_id=handle.id,
        cron=str(memo.get("cron", "")),
        window=str(memo.get("window", "")),
        users=memo.get("users"),
        timezone=str(memo.get("timezone", "UTC")),
        paused=description.schedule.state.paused,
        next_runs=list(info.next_action_times[:3]),
        recent_runs=recent[-5:],
    )


def _not_found(name: str, exc: RPCError) -> Exception:
    if exc.status == RPCStatusCode.NOT_FOUND:
        return ScheduleNotFoundError(f"no schedule named {name!r}: see volt-agent schedule list")
    return exc
