"""Service functions shared by the CLI and the HTTP API: validate, start, observe runs.

Validation happens here, before anything reaches Temporal, so bad input never starts a
workflow or cleans a run folder: ``prepare_run`` checks the arguments and the output folder
offline; ``check_before_start`` checks what a run started from this process needs (tokens,
the Fibery URL), that Toggl knows every ``--users`` email, and returns warnings to show before
the run starts (a Toggl token that is not a workspace admin sees only its own entries).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy

from volt_agent.config import Secrets, Settings
from volt_agent.errors import ConfigError, SourceError, UserInputError
from volt_agent.pipeline.types import (
    WORKFLOW_NAME,
    DeliveryChannel,
    PipelineInput,
    Progress,
    StartFrom,
    WorkflowOptions,
)
from volt_agent.sources.toggl import TogglClient
from volt_agent.storage.run_folder import (
    RUN_METADATA,
    TOGGL_AGGREGATED,
    new_run_id,
    open_run_folder,
    validate_run_id,
)

EMAIL_SHAPE = "@"
RUN_QUEUE_PREFIX = "volt-agent-run-"
"""Per-run task queues: only the in-process worker of the CLI that started the run polls one."""
POLLER_FRESH = timedelta(minutes=3)
"""A worker long-polls for about a minute at a time; older pollers are gone."""
POLL_RPC_TIMEOUT = timedelta(seconds=5)
WORKER_OWNED = (
    "storage (output_dir), tokens, parsing, enrichment and the Toggl, Fibery, LLM and API settings"
)
RUN_OWNED = "dates, users, run id, start stage, timeouts, retry policy and report grouping"


def no_worker_notice(config: Path | None) -> str:
    """The one line ``run --no-worker`` prints: which settings the run carries, which not."""
    source = str(config) if config is not None else "this process's configuration"
    return (
        f"--no-worker: the workers use their own {WORKER_OWNED}; this run takes only its"
        f" {RUN_OWNED} from {source}"
    )


class RunExistsError(UserInputError):
    """A start from Toggl would overwrite an earlier run's folder; it needs ``force``."""

    def __init__(self, run_id: str, folder: str) -> None:
        super().__init__(
            f"run {run_id} already exists in {folder}: pass --force to overwrite it,"
            " or --start-from fibery to re-run only its Fibery stage"
        )
        self.run_id = run_id
        self.folder = folder


def workflow_id_for(run_id: str) -> str:
    return f"toggl-fibery-{run_id}"


def run_task_queue(run_id: str) -> str:
    """The run's own task queue (Temporal's worker-specific task queue pattern): a run started
    with an in-process worker runs its workflow and every activity there, so that worker never
    takes other runs' work and other workers never take this run's."""
    return f"{RUN_QUEUE_PREFIX}{run_id}"


def is_run_task_queue(task_queue: str) -> bool:
    return task_queue.startswith(RUN_QUEUE_PREFIX)


def parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserInputError(f"{option} {value!r} is not a date: use YYYY-MM-DD") from None


def prepare_run(
    settings: Settings,
    *,
    start_date: str,
    end_date: str,
    users: str | None = None,
    start_from: StartFrom = "toggl",
    run_id: str | None = None,
    output_dir: Path | None = None,
    now: datetime | None = None,
    force: bool = False,
    deliver: str | None = None,
) -> PipelineInput:
    """A validated workflow input; raises ``UserInputError`` with a one-line fix.

    ``deliver`` (``--deliver``): comma-separated delivery channels this run opts into.

    A start from Toggl with the ``run_id`` of a run that has a ``run_metadata.json`` would
    wipe that run: it raises ``RunExistsError`` unless ``force``.
    """
    start = parse_date(start_date, "--start-date")
    end = parse_date(end_date, "--end-date")
    if end < start:
        raise UserInputError(f"--end-date {end} is before --start-date {start}")
    days, longest = (end - start).days + 1, settings.toggl.max_range_days
    if days > longest:
        raise UserInputError(
            f"--start-date {start} to --end-date {end} is {days} days, more than the {longest}"
            " one Toggl report may span (toggl.max_range_days): split it into shorter runs"
        )
    user_list = _parse_users(users)
    channels = parse_deliver(deliver)
    if output_dir is not None:
        settings = settings.model_copy(update={"output_dir": output_dir})
    if not settings.storage_url:  # a bucket is checked by its first read
        check_output_dir(settings.output_dir)
    if start_from == "fibery":
        if not run_id:
            raise UserInputError("--start-from fibery needs --run-id of an earlier run")
        folder = open_run_folder(settings, validate_run_id(run_id))
        if not folder.exists(TOGGL_AGGREGATED):
            raise UserInputError(
                f"run {run_id} has no {TOGGL_AGGREGATED} in {folder.location()}:"
                " re-run it from toggl or pick another --run-id"
            )
    elif run_id is not None:
        folder = open_run_folder(settings, validate_run_id(run_id))
        if not force and folder.exists(RUN_METADATA):
            raise RunExistsError(run_id, folder.location())
    if run_id is None:
        run_id = new_run_id(now or datetime.now(UTC))
        fresh = open_run_folder(settings, run_id)
        if fresh.present():
            raise UserInputError(
                f"run {run_id} already exists in {fresh.storage.location()}:"
                " start again in a second or pass --run-id"
            )
    return PipelineInput(
        start_date=start,
        end_date=end,
        users=user_list,
        start_from=start_from,
        run_id=run_id,
        options=WorkflowOptions.from_settings(settings).model_copy(update={"deliver": channels}),
    )


def parse_deliver(deliver: str | None) -> list[DeliveryChannel]:
    """``--deliver email``: the channels, each once, in the order given."""
    known: dict[str, DeliveryChannel] = {"email": "email", "webhook": "webhook", "fibery": "fibery"}
    channels: list[DeliveryChannel] = []
    for item in (i.strip() for i in (deliver or "").split(",")):
        if not item:
            continue
        if item not in known:
            names = ", ".join(known)
            raise UserInputError(f"--deliver: unknown channel {item!r}; the channels are: {names}")
        if known[item] not in channels:
            channels.append(known[item])
    return channels


def _parse_users(users: str | None) -> list[str] | None:
    if users is None:
        return None
    emails = [u.strip() for u in users.split(",") if u.strip()]
    if not emails:
        raise UserInputError("--users is empty: give comma-separated emails or leave it out")
    bad = [e for e in emails if EMAIL_SHAPE not in e]
    if bad:
        raise UserInputError(f"--users expects emails, got: {', '.join(bad)}")
    return emails


def check_output_dir(output_dir: Path) -> None:
    """Refuse an output folder that cannot hold run folders, without creating anything.

    The nearest existing folder on the way to ``output_dir`` must be a writable directory: a
    file in the way (``--output-dir report.txt/runs``) or a folder without write access is
    refused here instead of failing the run at its first write.
    """
    existing = output_dir
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise UserInputError(
            f"output folder {output_dir} cannot be used: {existing} is not a directory"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserInputError(f"output folder {output_dir} cannot be used: {existing} is read-only")


def check_worker_credentials(settings: Settings, secrets: Secrets, start_from: StartFrom) -> None:
    """What a worker in this process needs: the tokens of the stages to run, the Fibery URL."""
    if start_from == "toggl":
        secrets.require_toggl()
    secrets.require_fibery()
    if not settings.fibery.base_url:
        raise ConfigError(
            "FIBERY_BASE_URL is not set: put https://{workspace}.fibery.io in the"
            " environment or fibery.base_url in config.yaml"
        )


async def check_toggl_access(
    settings: Settings,
    secrets: Secrets,
    emails: Sequence[str] | None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[str]:
    """Refuse ``--users`` emails Toggl does not know; warn when the token is not an admin.

    Costs the workspace user list and ``/me`` (one request each, the list fetched once for
    both checks), which the worker repeats for the run: ``check_before_start`` calls it
    only for ``--users``. Skipped when this process has no
    Toggl token (a run for ``--no-worker`` workers with their own environment): the worker
    then refuses unknown emails, and records the token's visibility in ``run_metadata.json``.
    The visibility probe is best effort: when Toggl does not answer it (a bad token, no
    network), the run starts without the warning and its fetch meets the same error.
    """
    token = secrets.toggl_api_token
    if token is None or not token.get_secret_value():
        return []
    http = settings.http if emails else settings.http.model_copy(update={"max_retries": 0})
    async with TogglClient.create(settings.toggl, http, token, transport) as toggl:
        if emails:
            await toggl.resolve_user_ids(emails)
        try:
            if await toggl.token_is_admin() is not False:
                return []
            me = await toggl.me()
        except SourceError:
            return []
    return [visibility_warning(me.name or me.email or f"user {me.id}")]


def visibility_warning(token_user: str) -> str:
    return (
        f"the Toggl token is not a workspace admin, so only its own entries ({token_user}) are"
        " visible: the reports will cover only that user; use an admin's token for the team"
    )


async def check_before_start(
    settings: Settings, params: PipelineInput, secrets: Secrets, *, in_process_worker: bool
) -> list[str]:
    """Everything that can be checked before a workflow starts; raises with one line.

    Returns one-line warnings for the caller to show before the run starts. Toggl is asked
    only for ``--users`` (unknown emails are refused before a workflow exists): without it,
    the worker's fetch learns the token's visibility anyway — with the token that counts,
    as ``--no-worker`` workers use their own — and the run records it as a
    ``toggl_not_admin`` warning, so the pre-check would only spend the workspace quota on a
    users list and ``/me`` the worker asks again.
    """
    if in_process_worker:
        check_worker_credentials(settings, secrets, params.start_from)
    if params.start_from != "toggl" or not params.users:
        return []
    return await check_toggl_access(settings, secrets, params.users)


def input_for_queue(params: PipelineInput, task_queue: str) -> PipelineInput:
    """``params`` as started on ``task_queue``: on a run's own queue without ``api_queues``."""
    if not is_run_task_queue(task_queue) or params.options.api_queues is None:
        return params
    options = params.options.model_copy(update={"api_queues": None})
    return params.model_copy(update={"options": options})


async def start_run(
    client: Client, params: PipelineInput, task_queue: str
) -> WorkflowHandle[object, object]:
    """Start the run on ``task_queue``: the shared queue of the long-lived workers
    (``temporal.task_queue``), or ``run_task_queue(run_id)`` for an in-process worker.

    A run on its own queue keeps every activity there (no ``api_queues``): only runs on the
    shared queue send their Toggl/Fibery activities to the rate-limited API queues."""
    params = input_for_queue(params, task_queue)
    timeout = _seconds(params.options.workflow_timeout_seconds)
    return await client.start_workflow(
        WORKFLOW_NAME,
        params,
        id=workflow_id_for(params.run_id),
        task_queue=task_queue,
        execution_timeout=timeout,
        run_timeout=timeout,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )


async def workflow_pollers(client: Client, task_queue: str) -> int:
    """Workers that polled ``task_queue`` for workflow tasks in the last ``POLLER_FRESH`` (one
    RPC). Every volt-agent worker polls workflow and activity tasks of its queue together."""
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        ),
        timeout=POLL_RPC_TIMEOUT,
    )
    fresh_after = datetime.now(UTC) - POLLER_FRESH
    return sum(1 for p in response.pollers if p.last_access_time.ToDatetime(UTC) >= fresh_after)


async def query_progress(handle: WorkflowHandle[object, object]) -> Progress:
    result: Progress = await handle.query("get_progress", result_type=Progress)
    return result


def _seconds(value: int) -> timedelta:
    return timedelta(seconds=value)
