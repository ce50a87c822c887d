"""Service functions shared by the CLI and the HTTP API: validate, start, observe runs.

Validation happens here, before anything reaches Temporal, so bad input never starts a
workflow or cleans a run folder.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy

from volt_agent.config import Settings
from volt_agent.errors import UserInputError
from volt_agent.pipeline.types import WORKFLOW_NAME, PipelineInput, Progress, StartFrom
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
    user_list = _parse_users(users)
    if output_dir is not None:
        settings = settings.model_copy(update={"output_dir": output_dir})
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
    return PipelineInput(
        start_date=start,
        end_date=end,
        users=user_list,
        start_from=start_from,
        run_id=run_id or new_run_id(now or datetime.now(UTC)),
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
