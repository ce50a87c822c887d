"""Worker assembly: the workflow plus activities bound to this process's clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from volt_agent.config import Secrets, Settings
from volt_agent.errors import ConfigError
from volt_agent.metrics import PipelineMetrics
from volt_agent.pipeline.activities import PipelineActivities
from volt_agent.pipeline.versioning import deployment_config
from volt_agent.pipeline.workflow import TogglFiberyPipeline
from volt_agent.reporting.insight_config import insight_settings
from volt_agent.reporting.llm import LlmReportWriter
from volt_agent.reporting.llm_egress import uses_llm
from volt_agent.reporting.writer import ReportWriter, TemplateReportWriter
from volt_agent.schedules.activities import resolve_schedule_window
from volt_agent.schedules.workflow import ScheduledPipeline


def build_writer(settings: Settings, secrets: Secrets) -> ReportWriter:
    """The report writer of ``llm.provider``: the LLM writer only with ``openai``
    (``uses_llm``); a key in the environment alone never sends data (``egress_notice``).

    The LLM writer checks its prompt files here, so a missing one stops the worker at start.
    """
    llm = settings.llm
    if not uses_llm(llm):
        return TemplateReportWriter(insight_settings(settings.reports))
    key = secrets.openai_api_key
    if key is None or not key.get_secret_value():
        raise ConfigError(
            "llm.provider is openai but OPENAI_API_KEY is not set: put it in the"
            " environment or .env (local servers such as Ollama accept any value,"
            " e.g. OPENAI_API_KEY=ollama)"
        )
    return LlmReportWriter.create(llm, key, insight_settings(settings.reports))


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
    passes its run's own queue (``service.run_task_queue``) so it takes no other run's work.
    Only the shared-queue worker joins ``temporal.worker_deployment`` (``versioning``)."""
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
        deployment_config=None if task_queue else deployment_config(settings.temporal),
    )


TOGGL_ACTIVITIES = ("fetch_toggl_data",)
FIBERY_ACTIVITIES = (
    "extract_fibery_entities",
    "enrich_scrum_task",
    "enrich_scrum_bug",
    "enrich_product_feature",
    "default_enrich_entity",
)
"""The activities that call Toggl / Fibery: what the API queues' workers run (each is the
``PipelineActivities`` method of that name)."""


SHARE_HEADROOM = 0.95
"""The part of its ``1/workers`` share a worker sends. Each worker spaces its requests when its
limiter lets them go; they reach the server after delays that vary. With every worker
saturating its share, a request arriving a little early overflows the server's bucket, which
then holds no more than the fleet's burst (docs/TEMPORAL.md, "Worst case"). 5 % of a share
is the spacing one request may lose to that: 79 ms at a third of 2 requests/s."""


def api_share(settings: Settings) -> Settings:
    """The settings of one of ``api_queues.workers`` long-lived workers: its Toggl and Fibery
    clients get ``SHARE_HEADROOM`` of ``1/workers`` of each per-token rate, so all of them
    together stay within it, with room for the requests' varying delays."""
    workers = settings.api_queues.workers
    if not settings.api_queues.enabled or workers == 1:
        return settings
    toggl = settings.toggl.requests_per_second / workers * SHARE_HEADROOM
    fibery = settings.fibery.requests_per_second / workers * SHARE_HEADROOM
    return settings.model_copy(
        update={
            "toggl": settings.toggl.model_copy(update={"requests_per_second": toggl}),
            "fibery": settings.fibery.model_copy(update={"requests_per_second": fibery}),
        }
    )


FIBERY_START_FACTOR = 8
"""Default Fibery activity starts per second, per request per second. An enrichment batch
costs at least two requests, so starts never outrun the requests; starting the batches
together lets their queries wait on the limiter together and leave as one ``/api/commands``
request (``sources.coalesce``) instead of one each."""


def dispatch_rates(settings: Settings) -> tuple[float, float]:
    """``max_task_queue_activities_per_second`` of the Toggl and the Fibery queue."""
    queues = settings.api_queues
    toggl = queues.toggl_activities_per_second or settings.toggl.requests_per_second
    fibery = (
        queues.fibery_activities_per_second
        or FIBERY_START_FACTOR * settings.fibery.requests_per_second
    )
    return toggl, fibery


def build_api_workers(
    client: Client, settings: Settings, activities: PipelineActivities
) -> list[Worker]:
    """Workers on the Toggl and Fibery task queues (``api_queues``), sharing ``activities``
    (so this process's one rate limiter per client) with the shared-queue worker.

    ``max_task_queue_activities_per_second`` is enforced by the Temporal server for all
    workers of a queue (every worker must set the same value); ``max_concurrent_*`` bounds
    this worker's share. None when ``api_queues.enabled`` is false."""
    queues = settings.api_queues
    if not queues.enabled:
        return []
    toggl_rate, fibery_rate = dispatch_rates(settings)
    toggl_queue, fibery_queue = queues.queue_names(settings.temporal.task_queue)
    specs = (
        (toggl_queue, TOGGL_ACTIVITIES, toggl_rate, queues.max_concurrent_toggl),
        (fibery_queue, FIBERY_ACTIVITIES, fibery_rate, queues.max_concurrent_fibery),
    )
    grace = timedelta(seconds=settings.worker.graceful_shutdown_seconds)
    return [
        Worker(
            client,
            task_queue=queue,
            activities=[getattr(activities, name) for name in names],
            max_task_queue_activities_per_second=rate,
            max_concurrent_activities=concurrent,
            graceful_shutdown_timeout=grace,
        )
        for queue, names, rate, concurrent in specs
    ]


def build_workers(
    client: Client, settings: Settings, activities: PipelineActivities
) -> list[Worker]:
    """A long-lived worker's set: the shared-queue worker (``build_worker``) and the API
    queues' workers (``build_api_workers``), all sharing ``activities`` (built from
    ``api_share(settings)`` when several workers share the limits, as ``volt-agent worker``
    does)."""
    return [
        build_worker(client, settings, activities),
        *build_api_workers(client, settings, activities),
    ]


@asynccontextmanager
async def running(workers: Sequence[Worker]) -> AsyncIterator[list[Worker]]:
    """Run ``workers`` for the duration of the block (``async with`` each)."""
    async with AsyncExitStack() as stack:
        for worker in workers:
            await stack.enter_async_context(worker)
        yield list(workers)
