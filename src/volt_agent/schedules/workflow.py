"""``ScheduledPipeline``: what a Temporal Schedule starts.

A Schedule starts a workflow with a fixed input, so the input names a *window*
("last-week"), not dates. This small parent resolves the window for ``workflow.now()`` in
the schedule's time zone (a local activity: the tz database is I/O), derives a fresh run
id from its own start time and runs ``TogglFiberyPipeline`` as a child with the usual id
``toggl-fibery-{run_id}``: every scheduled run gets its own dates, run id and run folder.
Deterministic: no clock but ``workflow.now()``, no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from pydantic import Field, model_validator

    from volt_agent.pipeline.service import workflow_id_for
    from volt_agent.pipeline.types import (
        WORKFLOW_NAME,
        Durable,
        Message,
        PipelineInput,
        WorkflowOptions,
        legacy_config_to_options,
    )
    from volt_agent.schedules.activities import WindowDates, WindowRequest
    from volt_agent.schedules.windows import Window

SCHEDULED_WORKFLOW_NAME = "ScheduledPipeline"


class ScheduledPipelineInput(Durable):
    """A schedule's action input, kept by Temporal for as long as the schedule lives: unknown
    keys are ignored and a pre-``options`` ``config`` becomes ``options``."""

    schedule: str
    window: Window
    users: list[str] | None = None
    timezone: str = "UTC"
    options: WorkflowOptions = Field(default_factory=WorkflowOptions)
    """Timeouts, retry policy and report grouping of the runs; the rest is the workers'."""

    @model_validator(mode="before")
    @classmethod
    def _legacy_config(cls, data: Any) -> Any:
        return legacy_config_to_options(data)


class ScheduledRunResult(Message):
    run_id: str
    workflow_id: str
    start_date: str
    end_date: str


def scheduled_run_id(schedule: str, started: datetime) -> str:
    """``{schedule}_YYYY-MM-DD-HH-MM-SS`` (UTC): unique per firing, sorted by time."""
    return f"{schedule}_{started.astimezone(UTC):%Y-%m-%d-%H-%M-%S}"


@workflow.defn(name=SCHEDULED_WORKFLOW_NAME)
class ScheduledPipeline:
    @workflow.run
    async def run(self, params: ScheduledPipelineInput) -> ScheduledRunResult:
        started = workflow.now()
        dates = await workflow.execute_local_activity(
            "resolve_schedule_window",
            WindowRequest(window=params.window, timezone=params.timezone, moment=started),
            result_type=WindowDates,
            start_to_close_timeout=timedelta(seconds=10),
        )
        start, end = dates.start_date, dates.end_date
        run_id = scheduled_run_id(params.schedule, started)
        child_id = workflow_id_for(run_id)
        timeout = timedelta(seconds=params.options.workflow_timeout_seconds)
        workflow.logger.info("scheduled run %s: %s..%s", run_id, start, end)
        await workflow.execute_child_workflow(
            WORKFLOW_NAME,
            PipelineInput(
                start_date=start,
                end_date=end,
                users=params.users,
                run_id=run_id,
                options=params.options,
            ),
            id=child_id,
            task_queue=workflow.info().task_queue,  # the shared queue the schedule starts on
            execution_timeout=timeout,
            run_timeout=timeout,
            parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
        )
        return ScheduledRunResult(
            run_id=run_id,
            workflow_id=child_id,
            start_date=start.isoformat(),
            end_date=end.isoformat(),
        )
