"""Typed inputs and outputs that cross Temporal: small references and counts, never bulk data.

Everything here is visible in the Temporal UI, so nothing here may hold a token.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from volt_agent.config import (
    ApiQueueSettings,
    ReportFanOut,
    RetrySettings,
    Settings,
    TemporalSettings,
)
from volt_agent.domain.models import CompletenessCheck, FetchStatistics

WORKFLOW_NAME = "TogglFiberyPipeline"
StartFrom = Literal["toggl", "fibery"]
RunStatus = Literal["in_progress", "completed", "failed", "cancelled"]
DeliveryChannel = Literal["email", "webhook", "fibery"]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Durable(BaseModel):
    """A message kept in Temporal for weeks (workflow and schedule inputs, scheduled activity
    inputs): unknown keys are ignored, so inputs written by older or newer code still load."""

    model_config = ConfigDict(extra="ignore")


class RetryOptions(RetrySettings):
    """``retry`` of the run's settings, as the workflow's activity retry policy."""

    model_config = ConfigDict(extra="ignore")


class ReportOptions(ReportFanOut):
    """``reports`` of the run's settings: how person reports are grouped and fanned out."""

    model_config = ConfigDict(extra="ignore")


class ApiQueues(Durable):
    """The task queues of the Toggl and Fibery activities (``api_queues`` of the settings).

    Only a run on the shared queue carries them; a run with its own queue (an in-process
    worker) carries none and runs every activity on that queue."""

    toggl: str
    fibery: str


class WorkflowOptions(Durable):
    """What the workflow itself uses: timeouts, the retry policy and the report fan-out.

    Everything else (storage, tokens, parsing, enrichment, the Toggl/Fibery/LLM settings) is
    the worker's own configuration and never travels in the input.
    """

    workflow_timeout_seconds: int = Field(14400, gt=0)
    retry: RetryOptions = Field(default_factory=RetryOptions)
    reports: ReportOptions = Field(default_factory=ReportOptions)
    api_queues: ApiQueues | None = None
    deliver: list[DeliveryChannel] = Field(default_factory=list)
    """Channels this run delivers its reports on (``--deliver``); none by default."""

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkflowOptions:
        return cls.model_validate(_options_of(settings.model_dump(mode="json")))


def _options_of(config: dict[str, Any]) -> dict[str, Any]:
    """The ``WorkflowOptions`` fields of a (dumped) ``Settings``."""
    temporal = config.get("temporal") or {}
    options: dict[str, Any] = {"retry": config.get("retry"), "reports": config.get("reports")}
    options["workflow_timeout_seconds"] = temporal.get("workflow_timeout_seconds")
    queues = config.get("api_queues")
    if queues is not None and queues.get("enabled"):
        shared = temporal.get("task_queue") or TemporalSettings().task_queue
        toggl, fibery = ApiQueueSettings.model_validate(queues).queue_names(shared)
        options["api_queues"] = {"toggl": toggl, "fibery": fibery}
    return {key: value for key, value in options.items() if value is not None}


def legacy_config_to_options(data: Any) -> Any:
    """Inputs written before ``options`` carried the whole ``Settings`` as ``config``: their
    timeouts, retry policy and report fan-out become ``options``; the rest is dropped."""
    if isinstance(data, dict) and "options" not in data and isinstance(data.get("config"), dict):
        return {**data, "options": _options_of(data["config"])}
    return data


class PipelineInput(Durable):
    """The input of ``TogglFiberyPipeline``: the run, its dates and users, and the options
    the workflow uses; never a filesystem root or a token (the worker owns those)."""

    start_date: date
    end_date: date
    users: list[str] | None = None
    start_from: StartFrom = "toggl"
    run_id: str
    options: WorkflowOptions = Field(default_factory=WorkflowOptions)

    @model_validator(mode="before")
    @classmethod
    def _legacy_config(cls, data: Any) -> Any:
        return legacy_config_to_options(data)


class RunRef(Durable):
    """Which run an activity works on. Where its files live is the worker's ``output_dir``;
    activities read and write there and return only counts."""

    run_id: str


class RunStatusUpdate(Message):
    run: RunRef
    workflow_id: str
    status: RunStatus
    starting: bool = False
    """True on the first update of a workflow execution (a new run or a re-run)."""
    parameters: dict[str, object] = Field(default_factory=dict)
    stage_completed: str | None = None
    stage_failed: str | None = None
    error: str | None = None
    statistics: dict[str, object] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    """Silent-failure warnings so far (``"kind: message"``); replaces the stored list."""
    temporal: dict[str, str] = Field(default_factory=dict)
    at: str
    """ISO time from ``workflow.now()``; the activity never reads the clock for metadata."""


class FetchInput(Message):
    run: RunRef
    start_date: date
    end_date: date
    users: list[str] | None = None


class TogglQuota(Message):
    """``X-Toggl-Quota-Remaining`` / ``-Resets-In`` of the last workspace answer that carried
    them and the lowest remaining budget seen by this worker's client; ``user_quota_*`` the
    same for the per-user quota of ``/me`` (``None``: no answer carried them)."""

    quota_remaining: int | None = None
    quota_resets_in: float | None = None
    quota_remaining_min: int | None = None
    user_quota_remaining: int | None = None
    user_quota_resets_in: float | None = None


class FetchResult(Message):
    entries: int
    users: int
    requests: int
    pages: int
    resumed_from_page: int = 0
    dropped: int = 0
    statistics: FetchStatistics = Field(default_factory=FetchStatistics)
    """What the fetch saw and set aside, counter by counter (bad rows are counted, never fatal)."""
    completeness: CompletenessCheck | None = None
    """Toggl's totals against the sum of the fetched entries (they agreed, or the fetch failed)."""
    token_is_admin: bool | None = None
    """``False``: the token sees only its own user's entries (``None``: Toggl did not say)."""
    default_timezone: str | None = None
    """The zone of everyone without a zone of their own (see ``raw_toggl_data.json`` users)."""
    configured_timezones: int = 0
    """Users whose zone came from ``toggl.timezones``."""
    quota: TogglQuota = Field(default_factory=TogglQuota)
    """Toggl's hourly-quota headers as last seen by the fetch."""
    page_size: int | None = None
    """Report rows per page the server granted (``None``: not recorded)."""


class AggregateResult(Message):
    users: int
    entries: int
    matched_entries: int
    unmatched_entries: int
    entities: int
    total_seconds: int


class LlmUsage(Message):
    """Chat calls and tokens spent writing reports (all zero for the template writer)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ReportResult(Message):
    path: str
    writer: str
    characters: int
    llm: LlmUsage = Field(default_factory=LlmUsage)
    warnings: list[str] = Field(default_factory=list)
    """Narrative sections that fell back to the template text, and why (short, capped)."""
    html_path: str | None = None


class EnrichmentBatch(Message):
    """One batch of entity ids of one type; the ids themselves live in the run's plan file."""

    type_key: str
    index: int
    size: int
    activity: str


class ExtractResult(Message):
    batches: list[EnrichmentBatch]
    entities_by_type: dict[str, int]
    max_concurrent_by_type: dict[str, int]
    user_ids: list[int]


class EnrichBatchInput(Message):
    run: RunRef
    batch: EnrichmentBatch


class EnrichBatchResult(Message):
    type_key: str
    index: int
    found: int
    not_found: int
    error: int


class FailedBatchInput(Message):
    """A batch whose enrichment failed for good: its entities become ``error`` rows."""

    run: RunRef
    batch: EnrichmentBatch
    error: str


class PersonReportInput(Message):
    run: RunRef
    user_ids: list[int]


class DeliverInput(Durable):
    run: RunRef
    channels: list[DeliveryChannel]


class DeliverResult(Message):
    sent: int = 0
    skipped: int = 0
    """Messages already recorded in ``delivery.json`` by an earlier attempt."""
    warnings: list[str] = Field(default_factory=list)


class PersonReportsResult(Message):
    paths: list[str]
    writer: str
    llm: LlmUsage = Field(default_factory=LlmUsage)
    warnings: list[str] = Field(default_factory=list)


class SaveEnrichedResult(Message):
    entities: int
    found: int
    not_found: int
    error: int
    path: str
    comments: int = 0
    """Comments Fibery reported on the enriched entities."""
    comments_kept: int = 0
    comments_truncated: int = 0
    """Older comments left out (``fibery.max_comments`` newest are kept per entity)."""
    entities_with_truncated_comments: int = 0


class TypeProgress(Message):
    done: int = 0
    total: int = 0


class Progress(Message):
    """Answer of the ``get_progress`` query."""

    run_id: str
    status: RunStatus = "in_progress"
    current_stage: str = "starting"
    current_activity: str = ""
    activity_index: int = 0
    activities_total: int = 10
    percentage: float = 0.0
    eta_seconds: float | None = None
    elapsed_seconds: float = 0.0
    details: dict[str, TypeProgress] = Field(default_factory=dict)
    rate_per_second: float | None = None
    """Work items (batches, users) finished per second in the current activity."""
    waiting: str | None = None
    """What the run waits for (``pipeline.waits``): set by the client that follows the run
    from Temporal's description of it, never by the workflow."""
