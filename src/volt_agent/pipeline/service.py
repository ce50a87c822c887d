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
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy

from volt_agent.config import Secrets, Settings
from volt_agent.errors import ConfigError, SourceError, UserInputError
from volt_agent.pipeline.types import WORKFLOW_NAME, PipelineInput, Progress, StartFrom
from volt_agent.sources.toggl import TogglClient
from volt_agent.storage.run_folder import TOGGL_AGGREGATED, RunFolder, new_run_id, validate_run_id

EMAIL_SHAPE = "@"


def workflow_id_for(run_id: str) -> str:
    return f"toggl-fibery-{run_id}"


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
) -> PipelineInput:
    """A validated workflow input; raises ``UserInputError`` with a one-line fix."""
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
    if output_dir is not None:
        settings = settings.model_copy(update={"output_dir": output_dir})
    check_output_dir(settings.output_dir)
    if start_from == "fibery":
        if not run_id:
            raise UserInputError("--start-from fibery needs --run-id of an earlier run")
        folder = RunFolder(settings.output_dir, validate_run_id(run_id))
        if not folder.exists(TOGGL_AGGREGATED):
            raise UserInputError(
                f"run {run_id} has no {TOGGL_AGGREGATED} in {folder.path}:"
                " re-run it from toggl or pick another --run-id"
            )
    elif run_id is not None:
        validate_run_id(run_id)
    if run_id is None:
        run_id = new_run_id(now or datetime.now(UTC))
        if RunFolder(settings.output_dir, run_id).path.exists():
            raise UserInputError(
                f"run {run_id} already exists in {settings.output_dir}:"
                " start again in a second or pass --run-id"
            )
    return PipelineInput(
        start_date=start,
        end_date=end,
        users=user_list,
        start_from=start_from,
        run_id=run_id,
        config=settings,
    )


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
    both checks), which the worker repeats for the run. Skipped when this process has no
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
    params: PipelineInput, secrets: Secrets, *, in_process_worker: bool
) -> list[str]:
    """Everything that can be checked before a workflow starts; raises with one line.

    Returns one-line warnings for the caller to show before the run starts.
    """
    settings = params.config
    if in_process_worker:
        check_worker_credentials(settings, secrets, params.start_from)
    if params.start_from != "toggl":
        return []
    return await check_toggl_access(settings, secrets, params.users)


async def start_run(client: Client, params: PipelineInput) -> WorkflowHandle[object, object]:
    settings = params.config
    return await client.start_workflow(
        WORKFLOW_NAME,
        params,
        id=workflow_id_for(params.run_id),
        task_queue=settings.temporal.task_queue,
        execution_timeout=_seconds(settings.temporal.workflow_timeout_seconds),
        run_timeout=_seconds(settings.temporal.workflow_timeout_seconds),
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )


async def query_progress(handle: WorkflowHandle[object, object]) -> Progress:
    result: Progress = await handle.query("get_progress", result_type=Progress)
    return result


def _seconds(value: int) -> timedelta:
    return timedelta(seconds=value)
