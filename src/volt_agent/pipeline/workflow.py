"""The ``TogglFiberyPipeline`` workflow: sequencing, fan-out, timeouts and retry choices only.

No I/O, no clock but ``workflow.now()``, no randomness. Activities are called by name and
exchange only references and counts (see ``pipeline.types``), so history grows with
batches and users, never with time entries.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from volt_agent.config import RetrySettings
    from volt_agent.pipeline.rolling_window import process_with_rolling_window
    from volt_agent.pipeline.types import (
        WORKFLOW_NAME,
        AggregateResult,
        DeliverInput,
        DeliverResult,
        EnrichBatchInput,
        EnrichBatchResult,
        EnrichmentBatch,
        ExtractResult,
        FailedBatchInput,
        FetchInput,
        FetchResult,
        PersonReportInput,
        PersonReportsResult,
        PipelineInput,
        Progress,
        ReportResult,
        RunRef,
        RunStatus,
        RunStatusUpdate,
        SaveEnrichedResult,
        TypeProgress,
    )

R = TypeVar("R", bound=BaseModel)

STAGE_TOGGL = "toggl"
STAGE_FIBERY = "fibery"
ACTIVITIES_TOTAL = 10
LLM_FALLBACK = "llm_fallback"
"""Warnings of report writers (a narrative section replaced by the template text)."""
LLM_COUNTERS = ("calls", "prompt_tokens", "completion_tokens")
MAX_REPORT_WARNINGS = 100
ZERO_ENTRIES = "zero_entries"
ZERO_MATCHED = "zero_matched"
RUNNING_TIMERS = "toggl_running_timers"
"""Silent failures: a run that did everything right with nothing. Recorded as warnings
``"{kind}: {message}"`` in ``run_metadata.json`` and counted by the worker's metrics."""
NOT_ADMIN = "toggl_not_admin"
"""The Toggl token sees only its own entries (the reports cover only its user)."""
BATCH_FAILED = "enrichment_batch_failed"
"""A batch that failed for good: its entities are ``error`` rows, the run goes on."""
MAX_BATCH_WARNINGS = 20
DEGRADE_FAILED_BATCHES = "degrade-failed-batches"
"""``workflow.patched`` id: histories from before it failed the run on a failed batch."""
API_TASK_QUEUES = "api-task-queues"
"""``workflow.patched`` id: runs with ``options.api_queues`` send the Toggl/Fibery activities
to those queues, and the schema read of ``extract_fibery_entities`` becomes a regular
activity on the Fibery queue (it was a local activity)."""
DELIVER_REPORTS = "deliver-reports"
"""``workflow.patched`` id: a run with ``options.deliver`` ends with ``deliver_reports``."""
DELIVERY_FAILED = "delivery_failed"
FATAL_BATCH_ERRORS = frozenset(
    {"ConfigError", "UserInputError", "AuthError", "FeatureNotEnabledError", "StorageError"}
)
"""Batch errors that fail the run at once: every other batch would meet them too, and only
the user can fix them (settings, tokens, the plan, the disk)."""


def retry_policy(settings: RetrySettings) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=timedelta(seconds=settings.initial_interval_seconds),
        backoff_coefficient=settings.backoff_coefficient,
        maximum_interval=timedelta(seconds=settings.maximum_interval_seconds),
        maximum_attempts=settings.maximum_attempts,
        non_retryable_error_types=[
            "AuthError",
            "QuotaExceededError",
            "BadRequestError",
            "ResponseFormatError",
            "UserInputError",
            "ConfigError",
            "StorageError",
        ],
    )


def fetch_options(retry: RetrySettings, workflow_timeout_seconds: int) -> dict[str, Any]:
    """The Toggl fetch: bounded by time, not by attempts.

    A used-up hourly quota ends an attempt with the reset as its ``next_retry_delay``, and
    each attempt resumes from the page journal, so attempts are not counted
    (``maximum_attempts=0``); ``retry.fetch_schedule_to_close_seconds`` (at most the workflow
    timeout) bounds the whole fetch, waits included.
    """
    limit = min(retry.fetch_schedule_to_close_seconds, workflow_timeout_seconds)
    return {
        "schedule_to_close_timeout": timedelta(seconds=limit),
        "heartbeat_timeout": timedelta(seconds=retry.heartbeat_timeout_seconds),
        "retry_policy": dataclasses.replace(retry_policy(retry), maximum_attempts=0),
    }


@workflow.defn(name=WORKFLOW_NAME)
class TogglFiberyPipeline:
    def __init__(self) -> None:
        self._progress = Progress(run_id="")
        self._started: datetime | None = None
        self._activity_started: datetime | None = None
        self._work_done = 0
        self._work_total = 0

    # ----------------------------------------------------------------- queries

    @workflow.query(name="get_progress")
    def get_progress(self) -> Progress:
        now = workflow.now()
        progress = self._progress.model_copy(deep=True)
        if self._started is not None:
            progress.elapsed_seconds = round((now - self._started).total_seconds(), 1)
        fraction = self._fraction()
        progress.percentage = round(100 * fraction, 1)
        if 0 < fraction < 1 and progress.elapsed_seconds > 0:
            progress.eta_seconds = round(progress.elapsed_seconds * (1 - fraction) / fraction, 1)
        elif fraction >= 1:
            progress.eta_seconds = 0.0
        if self._activity_started is not None and self._work_done:
            spent = (now - self._activity_started).total_seconds()
            progress.rate_per_second = round(self._work_done / spent, 2) if spent > 0 else None
        return progress

    def _fraction(self) -> float:
        if self._progress.status == "completed":
            return 1.0
        base = self._progress.activity_index
        within = self._work_done / self._work_total if self._work_total else 0.0
        return min(1.0, (base + within) / ACTIVITIES_TOTAL)

    # --------------------------------------------------------------------- run

    @workflow.run
    async def run(self, params: PipelineInput) -> SaveEnrichedResult | AggregateResult:
        self._started = workflow.now()
        self._params = params
        self._run_options = params.options
        self._run = RunRef(run_id=params.run_id)
        queues = params.options.api_queues
        self._api_queues = queues if queues and workflow.patched(API_TASK_QUEUES) else None
        self._progress = Progress(run_id=params.run_id, activities_total=ACTIVITIES_TOTAL)
        self._statistics: dict[str, Any] = {}
        self._warnings: list[str] = []
        self._report_warnings: list[str] = []
        await self._record("in_progress", starting=True)
        stage = STAGE_TOGGL if params.start_from == "toggl" else STAGE_FIBERY
        try:
            if params.start_from == "toggl":
                await self._toggl_stage()
                await self._record("in_progress", stage_completed=STAGE_TOGGL)
            stage = STAGE_FIBERY
            result = await self._fibery_stage()
        except (asyncio.CancelledError, CancelledError):
            self._progress.status = "cancelled"
            await self._record("cancelled", stage_failed=stage, error="cancelled by request")
            raise
        except (ActivityError, ApplicationError) as err:  # local activities raise the latter
            message = _root_message(err)
            self._progress.status = "failed"
            await self._record("failed", stage_failed=stage, error=message)
            raise ApplicationError(message, type=_root_type(err), non_retryable=True) from err
        self._progress.status = "completed"
        self._progress.current_stage = "done"
        await self._record("completed", stage_completed=STAGE_FIBERY)
        return result

    async def _toggl_stage(self) -> None:
        self._progress.current_stage = STAGE_TOGGL
        await self._local("cleanup_toggl_stage", 0, self._run)
        fetched = await self._activity(
            "fetch_toggl_data",
            1,
            FetchInput(
                run=self._run,
                start_date=self._params.start_date,
                end_date=self._params.end_date,
                users=self._params.users,
            ),
            FetchResult,
            heartbeat=True,
            task_queue=self._api_queues.toggl if self._api_queues else None,
        )
        self._statistics["toggl"] = fetched.model_dump()
        check = fetched.completeness
        if check is not None and not check.agreed:
            self._warnings.append(
                f"{RUNNING_TIMERS}: Toggl's totals exceed the fetched entries by"
                f" {check.expected_seconds - check.fetched_seconds} s; the"
                f" {check.running_timers} running timer(s) of the range are not in the report"
                " (stop them for a complete report); Toggl's totals may count their time so far"
            )
        if (visibility := _visibility_warning(fetched)) is not None:
            self._warnings.append(visibility)
        if fetched.entries == 0:
            self._warnings.append(
                f"{ZERO_ENTRIES}: no time entries were fetched for"
                f" {self._params.start_date}..{self._params.end_date}: check the dates,"
                " --users, TOGGL_WORKSPACE_ID and what the Toggl token can see"
            )
        aggregated = await self._local("aggregate_toggl_data", 2, self._run, AggregateResult)
        self._statistics["aggregation"] = aggregated.model_dump()
        self._account(await self._activity("generate_toggl_report", 3, self._run, ReportResult))

    async def _fibery_stage(self) -> SaveEnrichedResult:
        self._progress.current_stage = STAGE_FIBERY
        await self._local("cleanup_fibery_stage", 4, self._run)
        if self._api_queues is None:
            plan = await self._local("extract_fibery_entities", 5, self._run, ExtractResult)
        else:  # it reads the Fibery schema: on the rate-limited queue
            plan = await self._activity(
                "extract_fibery_entities",
                5,
                self._run,
                ExtractResult,
                task_queue=self._api_queues.fibery,
            )
        if not plan.batches and not self._warnings:
            self._warnings.append(
                f"{ZERO_MATCHED}: no time entry references a Fibery entity: check that"
                " descriptions carry '#id [Space] [Type]' and parsing.id_pattern"
            )
        await self._enrich(plan)
        reports = self._run_options.reports
        groups = [
            plan.user_ids[i : i + reports.users_per_activity]
            for i in range(0, len(plan.user_ids), reports.users_per_activity)
        ]
        self._begin("generate_person_reports", 7, total=len(groups))
        await process_with_rolling_window(
            groups,
            lambda ids: self._execute(
                "generate_person_reports",
                PersonReportInput(run=self._run, user_ids=ids),
                PersonReportsResult,
            ),
            reports.max_concurrent,
            on_done=lambda _ids, result: self._advance(result),
        )
        saved = await self._local("save_enriched_data", 8, self._run, SaveEnrichedResult)
        self._statistics["enrichment"] = saved.model_dump()
        self._account(await self._activity("generate_team_report", 9, self._run, ReportResult))
        if self._run_options.deliver and workflow.patched(DELIVER_REPORTS):
            await self._deliver()
        return saved

    async def _deliver(self) -> None:
        """After the reports: delivery problems are warnings, never a failed run."""
        channels = list(self._run_options.deliver)
        try:
            delivered = await self._activity(
                "deliver_reports",
                ACTIVITIES_TOTAL - 1,
                DeliverInput(run=self._run, channels=channels),
                DeliverResult,
            )
        except ActivityError as err:
            if any(isinstance(e, CancelledError) for e in _chain(err)):
                raise
            self._warnings.append(f"{DELIVERY_FAILED}: {','.join(channels)}: {_root_message(err)}")
            return
        self._statistics["delivery"] = {"sent": delivered.sent, "skipped": delivered.skipped}
        self._warnings.extend(delivered.warnings)

    async def _enrich(self, plan: ExtractResult) -> None:
        """Activity 6: a rolling window over each type's batches; the types run side by side."""
        self._begin("enrich_entities", 6, total=len(plan.batches))
        by_type: dict[str, list[EnrichmentBatch]] = {}
        for batch in plan.batches:
            by_type.setdefault(batch.type_key, []).append(batch)
        self._progress.details = {
            key: TypeProgress(done=0, total=count) for key, count in plan.entities_by_type.items()
        }
        counts = {"found": 0, "not_found": 0, "error": 0}
        self._failed_batches = 0

        def done(batch: EnrichmentBatch, result: EnrichBatchResult) -> None:
            self._advance()
            self._progress.details[batch.type_key].done += batch.size
            for key in counts:
                counts[key] += getattr(result, key)

        await asyncio.gather(
            *(
                process_with_rolling_window(
                    batches,
                    self._enrich_batch,
                    plan.max_concurrent_by_type.get(key, 1),
                    on_done=done,
                )
                for key, batches in sorted(by_type.items())
            )
        )
        statistics = {"batches": len(plan.batches), **counts}
        if self._failed_batches:
            statistics["failed_batches"] = self._failed_batches
            unlisted = self._failed_batches - MAX_BATCH_WARNINGS
            if unlisted > 0:
                self._warnings.append(
                    f"{BATCH_FAILED}: {unlisted} more batch(es) failed the same way"
                    " (statistics.enrichment_batches.failed_batches counts them all)"
                )
        self._statistics["enrichment_batches"] = statistics

    async def _enrich_batch(self, batch: EnrichmentBatch) -> EnrichBatchResult:
        """One batch; one that fails for good (retries used up, or a non-retryable source
        error that is not about configuration) becomes ``error`` rows and a warning."""
        try:
            result: EnrichBatchResult = await workflow.execute_activity(
                batch.activity,
                EnrichBatchInput(run=self._run, batch=batch),
                result_type=EnrichBatchResult,
                **self._enrich_options(),
            )
        except ActivityError as err:
            if not _degradable(err) or not workflow.patched(DEGRADE_FAILED_BATCHES):
                raise
            message = _batch_failure(err)
            self._failed_batches += 1
            if self._failed_batches <= MAX_BATCH_WARNINGS:
                self._warnings.append(
                    f"{BATCH_FAILED}: {batch.type_key} batch {batch.index}: {message}"
                )
            failed: EnrichBatchResult = await workflow.execute_local_activity(
                "save_failed_batch",
                FailedBatchInput(run=self._run, batch=batch, error=message),
                result_type=EnrichBatchResult,
                start_to_close_timeout=timedelta(seconds=self._retry().activity_timeout_seconds),
                retry_policy=retry_policy(self._retry()),
            )
            return failed
        return result

    def _enrich_options(self) -> dict[str, Any]:
        """Enrichment batches retry for ``retry.enrichment_schedule_to_close_seconds`` with no
        attempt limit (a Fibery outage of minutes is waited out); 0 keeps ``maximum_attempts``."""
        options = self._options()
        if self._api_queues is not None:
            options["task_queue"] = self._api_queues.fibery
        bound = self._retry().enrichment_schedule_to_close_seconds
        if bound:
            options["schedule_to_close_timeout"] = timedelta(seconds=bound)
            options["retry_policy"] = dataclasses.replace(
                options["retry_policy"], maximum_attempts=0
            )
        return options

    def _retry(self) -> RetrySettings:
        return self._run_options.retry

    # ----------------------------------------------------------------- helpers

    def _begin(self, name: str, index: int, total: int = 0) -> None:
        self._progress.current_activity = name
        self._progress.activity_index = index
        self._activity_started = workflow.now()
        self._work_done = 0
        self._work_total = total

    def _advance(self, report: PersonReportsResult | None = None) -> None:
        self._work_done += 1
        if report is not None:
            self._account(report)

    def _account(self, report: ReportResult | PersonReportsResult) -> None:
        """Sum LLM calls and tokens into ``statistics.llm``; keep the writer's warnings."""
        if report.llm.calls or report.writer.startswith("llm:"):
            llm = self._statistics.setdefault("llm", dict.fromkeys(LLM_COUNTERS, 0))
            for key in LLM_COUNTERS:
                llm[key] += getattr(report.llm, key)
        for warning in report.warnings:
            if len(self._report_warnings) < MAX_REPORT_WARNINGS:
                self._report_warnings.append(f"{LLM_FALLBACK}: {warning}")

    def _options(self, *, heartbeat: bool = False) -> dict[str, Any]:
        """Every activity heartbeats, so a dead worker is noticed within the heartbeat timeout.

        ``heartbeat``: the activity checkpoints its own progress (the Toggl fetch); see
        ``fetch_options``.
        """
        retry = self._run_options.retry
        if heartbeat:
            return fetch_options(retry, self._run_options.workflow_timeout_seconds)
        return {
            "start_to_close_timeout": timedelta(seconds=retry.activity_timeout_seconds),
            "heartbeat_timeout": timedelta(seconds=retry.heartbeat_timeout_seconds),
            "retry_policy": retry_policy(retry),
        }

    async def _execute(self, name: str, arg: BaseModel, result_type: type[R]) -> R:
        result: R = await workflow.execute_activity(
            name, arg, result_type=result_type, **self._options()
        )
        return result

    async def _activity(
        self,
        name: str,
        index: int,
        arg: BaseModel,
        result_type: type[R],
        *,
        heartbeat: bool = False,
        task_queue: str | None = None,
    ) -> R:
        """``task_queue``: an API queue (``options.api_queues``); default the workflow's own."""
        self._begin(name, index)
        options = self._options(heartbeat=heartbeat)
        if task_queue is not None:
            options["task_queue"] = task_queue
        result: R = await workflow.execute_activity(name, arg, result_type=result_type, **options)
        return result

    async def _local(
        self, name: str, index: int, arg: BaseModel, result_type: type[R] | None = None
    ) -> R:
        self._begin(name, index)
        result: R = await workflow.execute_local_activity(
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=timedelta(
                seconds=self._run_options.retry.activity_timeout_seconds
            ),
            retry_policy=retry_policy(self._run_options.retry),
        )
        return result

    async def _record(
        self,
        status: RunStatus,
        *,
        starting: bool = False,
        stage_completed: str | None = None,
        stage_failed: str | None = None,
        error: str | None = None,
    ) -> None:
        info = workflow.info()
        update = RunStatusUpdate(
            run=self._run,
            workflow_id=info.workflow_id,
            status=status,
            starting=starting,
            parameters={
                "start_date": self._params.start_date.isoformat(),
                "end_date": self._params.end_date.isoformat(),
                "users": self._params.users,
                "start_from": self._params.start_from,
            },
            stage_completed=stage_completed,
            stage_failed=stage_failed,
            error=error,
            statistics=dict(self._statistics),
            warnings=[*self._warnings, *self._report_warnings],
            temporal={
                "started_at": (self._started or workflow.now()).isoformat(),
                "workflow_id": info.workflow_id,
                "run_id": info.run_id,
                "task_queue": info.task_queue,
                "namespace": info.namespace,
            },
            at=workflow.now().isoformat(),
        )
        await workflow.execute_local_activity(
            "record_run_status",
            update,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )


def _chain(err: BaseException) -> list[BaseException]:
    found = [err]
    while found[-1].__cause__ is not None:
        found.append(found[-1].__cause__)
    return found


def _degradable(err: ActivityError) -> bool:
    """A batch failure the run survives: not a cancellation, not a configuration error."""
    if any(isinstance(e, CancelledError) for e in _chain(err)):
        return False
    return _root_type(err) not in FATAL_BATCH_ERRORS


def _visibility_warning(fetched: FetchResult) -> str | None:
    """The run's warning for a token that sees only its own entries (``None`` otherwise);
    ``volt-agent run`` asks Toggl before the start only for ``--users``."""
    if fetched.token_is_admin is not False:
        return None
    return (
        f"{NOT_ADMIN}: the Toggl token is not a workspace admin, so only its own"
        " entries are visible: the reports cover only that user; use an admin's token"
        " for the team"
    )


def _batch_failure(err: ActivityError) -> str:
    """One line: the batch's last error, and the timeout that ended its retries if one did."""
    message = _root_message(err)
    timeout = next((e for e in _chain(err) if isinstance(e, TimeoutError)), None)
    if timeout is None or _root(err) is timeout:
        return message
    return f"{timeout.message}; last error: {message}"


def _root(err: BaseException) -> BaseException:
    while err.__cause__ is not None:
        err = err.__cause__
    return err


def _root_message(err: BaseException) -> str:
    root = _root(err)
    if isinstance(root, ApplicationError):
        return root.message
    return str(root) or type(root).__name__


def _root_type(err: BaseException) -> str:
    root = _root(err)
    if isinstance(root, ApplicationError) and root.type:
        return root.type
    return type(root).__name__
