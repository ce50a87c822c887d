"""Worker assembly: the workflow plus activities bound to this process's clients."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from volt_agent.config import Secrets, Settings
from volt_agent.errors import ConfigError
from volt_agent.metrics import PipelineMetrics
from volt_agent.pipeline.activities import PipelineActivities
from volt_agent.pipeline.workflow import TogglFiberyPipeline
from volt_agent.reporting.llm import LlmReportWriter
from volt_agent.reporting.writer import ReportWriter, TemplateReportWriter
from volt_agent.schedules.activities import resolve_schedule_window
from volt_agent.schedules.workflow import ScheduledPipeline


def build_writer(settings: Settings, secrets: Secrets) -> ReportWriter:
    """The report writer of ``llm.provider``: ``auto`` is openai when OPENAI_API_KEY is set.

    The LLM writer checks its prompt files here, so a missing one stops the worker at start.
    """
    llm = settings.llm
    key = secrets.openai_api_key
    if key is None or not key.get_secret_value():
        if llm.provider == "openai":
            raise ConfigError(
                "llm.provider is openai but OPENAI_API_KEY is not set: put it in the"
                " environment or .env (local servers such as Ollama accept any value,"
                " e.g. OPENAI_API_KEY=ollama)"
            )
        return TemplateReportWriter()
    if llm.provider == "template":
        return TemplateReportWriter()
    return LlmReportWriter.create(llm, key)


def build_activities(
    settings: Settings,
    secrets: Secrets,
    writer: ReportWriter | None = None,
    *,
    record_dir: Path | None = None,
) -> PipelineActivities:
    """The activities of one worker; ``record_dir`` records their Toggl/Fibery exchanges."""
    return PipelineActivities(
        settings, secrets, writer or build_writer(settings, secrets), record_dir=record_dir
    )


def build_worker(
    client: Client,
    settings: Settings,
    activities: PipelineActivities,
    *,
    task_queue: str | None = None,
) -> Worker:
    """A worker on ``task_queue``: by default the shared ``temporal.task_queue`` of the
    long-lived workers; an in-process worker of ``volt-agent run`` / ``show-run --follow``
    passes its run's own queue (``service.run_task_queue``) so it takes no other run's work."""
    limits = settings.worker
    # Pipeline metrics go to the client's runtime: exported when it was built with
    # ``metrics.metrics_runtime``, a no-op otherwise.
    activities.metrics = PipelineMetrics.for_client(client)
    return Worker(
        client,
        task_queue=task_queue or settings.temporal.task_queue,
        workflows=[TogglFiberyPipeline, ScheduledPipeline],
        activities=[*activities.all(), resolve_schedule_window],
        max_concurrent_activities=limits.max_concurrent_activities,
        max_concurrent_local_activities=limits.max_concurrent_local_activities,
        max_concurrent_workflow_tasks=limits.max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=timedelta(seconds=limits.graceful_shutdown_seconds),
    )
