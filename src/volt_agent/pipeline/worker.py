"""Worker assembly: the workflow plus activities bound to this process's clients."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker

from volt_agent.config import Secrets, Settings
from volt_agent.pipeline.activities import PipelineActivities
from volt_agent.pipeline.workflow import TogglFiberyPipeline
from volt_agent.reporting.writer import ReportWriter, TemplateReportWriter


def build_activities(
    settings: Settings, secrets: Secrets, writer: ReportWriter | None = None
) -> PipelineActivities:
    return PipelineActivities(settings, secrets, writer or TemplateReportWriter())


def build_worker(
    client: Client,
    settings: Settings,
    activities: PipelineActivities,
    *,
    task_queue: str | None = None,
) -> Worker:
    limits = settings.worker
    return Worker(
        client,
        task_queue=task_queue or settings.temporal.task_queue,
        workflows=[TogglFiberyPipeline],
        activities=activities.all(),
        max_concurrent_activities=limits.max_concurrent_activities,
        max_concurrent_local_activities=limits.max_concurrent_local_activities,
        max_concurrent_workflow_tasks=limits.max_concurrent_workflow_tasks,
    )
