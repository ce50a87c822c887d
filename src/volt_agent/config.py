"""Settings: ``config/config.yaml`` + ``config/enrichment_config.yaml`` + environment (``.env``).

One ``Settings`` object is built at the entry point and passed down; nothing reads the
environment at import time. Tokens are ``SecretStr`` and never leave this process: the
workflow input carries only non-secret settings.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from volt_agent.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("config/config.yaml")
DEFAULT_ENRICHMENT_PATH = Path("config/enrichment_config.yaml")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HttpSettings(Section):
    """Timeouts and the client-side retry loop shared by both APIs."""

    timeout_seconds: float = Field(30.0, gt=0)
    max_retries: int = Field(5, ge=0, description="retries of one request on 429/5xx/timeouts")
    backoff_initial_seconds: float = Field(0.5, ge=0)
    backoff_max_seconds: float = Field(30.0, ge=0)


class TogglSettings(Section):
    base_url: str = "https://api.track.toggl.com"
    workspace_id: int | None = Field(None, description="also TOGGL_WORKSPACE_ID")
    page_size: int = Field(
        1000,
        ge=1,
        le=1000,
        description="report rows per page asked for (public code sends 1000); a server that"
        " clamps it answers fewer rows at no cost, one that refuses it gets 200, then 50",
    )
    grouped: bool = Field(
        False,
        description="ask for grouped report rows (entries with the same description, project,"
        " task, tags and billable flag share a row: fewer pages); off by default like Toggl's,"
        " as grouped paging is undocumented",
    )
    max_range_days: int = Field(366, ge=1, description="longest range one report request may span")
    requests_per_second: float = Field(1.0, gt=0)
    max_quota_wait_seconds: float = Field(
        120.0,
        ge=0,
        description="wait inside a request for an hourly-quota reset at most this long (in a"
        " pipeline activity also at most 0.8 x retry.heartbeat_timeout_seconds); a later reset"
        " ends the activity attempt, retried by Temporal at the reset",
    )
    user_cache_seconds: float = Field(
        300.0,
        ge=0,
        description="a worker re-reads /me and the workspace users after this long, so a new"
        " hire is known without a restart; 0 = every run",
    )
    timezones: dict[str, str] = Field(
        default_factory=dict,
        description="email → IANA time zone of each person whose days are not in"
        " default_timezone (Toggl's API does not tell other users' zones)",
    )
    default_timezone: str | None = Field(
        None,
        description="IANA time zone of everyone not in timezones; unset = the token user's"
        " Toggl profile zone (from /me)",
    )

    @field_validator("timezones")
    @classmethod
    def _known_zones_by_email(cls, value: dict[str, str]) -> dict[str, str]:
        zones: dict[str, str] = {}
        for email, zone in value.items():
            key = email.strip().lower()
            if "@" not in key:
                raise ValueError(f"{email!r} is not an email: map emails to time zones")
            zones[key] = _known_zone(zone)
        return zones

    @field_validator("default_timezone")
    @classmethod
    def _known_default_zone(cls, value: str | None) -> str | None:
        return None if value is None else _known_zone(value)


def _known_zone(name: str) -> str:
    """``name`` if it is an IANA time zone this machine knows, else a one-line ``ValueError``."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin or"
            " America/Los_Angeles"
        ) from None
    return name


class FiberySettings(Section):
    base_url: str | None = Field(
        None, description="https://{workspace}.fibery.io; also FIBERY_BASE_URL"
    )
    requests_per_second: float = Field(3.0, gt=0)
    batch_size: int = Field(100, ge=1, le=500, description="entities per query")
    document_batch_size: int = Field(
        500,
        ge=1,
        description="documents per get-documents call; Fibery publishes no maximum (public"
        " code sends 50): a call Fibery refuses (HTTP 400) steps down to 200, 100, 50, then"
        " halves, and the client keeps the size that worked",
    )
    max_comments: int = Field(50, ge=0, description="newest comments kept per entity")


class ParsingSettings(Section):
    """Regexes of the description format; defaults follow the Fibery↔Toggl integration."""

    id_pattern: str = r"#(\d+)(?!\w)"
    tag_pattern: str = r"\[([^\[\]]*)\]"


class TemporalSettings(Section):
    address: str | None = Field(
        None, description="also TEMPORAL_ADDRESS; unset = embedded dev server"
    )
    namespace: str = "default"
    task_queue: str = "volt-agent-pipeline"
    workflow_timeout_seconds: int = Field(14400, gt=0)
    dev_server_port: int = 7233
    dev_server_ui_port: int = 8233
    ui_url: str | None = Field(
        None, description="Temporal Web UI of an external server; also TEMPORAL_UI_URL"
    )
    worker_deployment: str | None = Field(
        None,
        description="Worker Versioning: the Worker Deployment of the long-lived workers (e.g."
        " volt-agent); also TEMPORAL_WORKER_DEPLOYMENT; null = unversioned workers, workflow"
        " changes gated by workflow.patched (docs/TEMPORAL.md, Upgrading workers)",
    )
    worker_build_id: str | None = Field(
        None,
        description="this worker's version in worker_deployment (use the image tag); also"
        " TEMPORAL_WORKER_BUILD_ID; null = the volt-agent package version",
    )
    versioning_behavior: Literal["auto_upgrade", "pinned"] = Field(
        "auto_upgrade",
        description="with worker_deployment: pinned runs stay on the version that started"
        " them (keep its workers until they finish); auto_upgrade runs move to the current"
        " version (changes still need workflow.patched)",
    )


class RetrySettings(Section):
    """Temporal activity retry policy. ``maximum_attempts: 1`` fails fast like the original tool."""

    initial_interval_seconds: float = Field(1.0, gt=0)
    backoff_coefficient: float = Field(2.0, ge=1)
    maximum_interval_seconds: float = Field(60.0, gt=0)
    maximum_attempts: int = Field(5, ge=0)
    activity_timeout_seconds: int = Field(600, gt=0)
    heartbeat_timeout_seconds: int = Field(60, gt=0)
    fetch_schedule_to_close_seconds: int = Field(
        10800,
        gt=0,
        description="how long the Toggl fetch may take, waits for the hourly quota and every"
        " retry included (its attempts are not counted); capped by"
        " temporal.workflow_timeout_seconds",
    )
    enrichment_schedule_to_close_seconds: int = Field(
        1800,
        ge=0,
        description="an enrichment batch is retried (any number of attempts) for this long,"
        " then its entities become status error and the run goes on; 0 = maximum_attempts",
    )


class WorkerSettings(Section):
    max_concurrent_activities: int = Field(8, ge=1)
    max_concurrent_local_activities: int = Field(8, ge=1)
    max_concurrent_workflow_tasks: int = Field(4, ge=1)
    graceful_shutdown_seconds: float = Field(
        30.0,
        ge=0,
        description="on SIGTERM, how long running activities get to finish before they are"
        " cancelled (and retried elsewhere); keep it below the orchestrator's kill deadline",
    )
    malloc_arenas: int | None = Field(
        2,
        ge=1,
        description="glibc malloc arenas of a worker process (fewer arenas, less memory held"
        " free in each thread's own); null = glibc's default (8 per core); MALLOC_ARENA_MAX,"
        " when set, wins",
    )


class ApiQueueSettings(Section):
    """Toggl/Fibery activities of runs on the shared queue go to dedicated task queues that
    only the long-lived workers poll; together these bound the aggregate request rate of all
    workers (docs/TEMPORAL.md "Global API limits"). Every worker must use the same values."""

    enabled: bool = Field(
        True,
        description="false: every activity runs on temporal.task_queue (one worker, or limits"
        " enforced elsewhere)",
    )
    toggl_task_queue: str | None = Field(
        None, description="null = {temporal.task_queue}-toggl (volt-agent-pipeline-toggl)"
    )
    fibery_task_queue: str | None = Field(
        None, description="null = {temporal.task_queue}-fibery (volt-agent-pipeline-fibery)"
    )
    workers: int = Field(
        1,
        ge=1,
        description="how many `volt-agent worker` processes poll the API queues; each one's"
        " Toggl and Fibery clients send at most 95% of requests_per_second / workers; also"
        " VOLT_AGENT_API_WORKERS",
    )
    toggl_activities_per_second: float | None = Field(
        None,
        gt=0,
        description="Temporal's server-side dispatch limit of the Toggl queue (all workers);"
        " null = toggl.requests_per_second",
    )
    fibery_activities_per_second: float | None = Field(
        None,
        gt=0,
        description="the same for the Fibery queue; null = FIBERY_START_FACTOR x"
        " fibery.requests_per_second, so the batches after extraction start together and"
        " their queries share requests (the client's limiter still holds the request rate)",
    )
    max_concurrent_toggl: int = Field(
        1,
        ge=1,
        description="Toggl fetches at once per worker (1: concurrent runs' fetches spread over"
        " the workers, each with its own share, instead of splitting one worker's)",
    )
    max_concurrent_fibery: int = Field(
        8,
        ge=1,
        description="Fibery activities at once per worker: batches waiting on the limiter"
        " together leave as one merged request (sources.coalesce)",
    )

    def queue_names(self, shared_queue: str) -> tuple[str, str]:
        """The Toggl and Fibery task queues of the deployment whose shared queue is
        ``shared_queue``; deployments with different shared queues never share them."""
        return (
            self.toggl_task_queue or f"{shared_queue}-toggl",
            self.fibery_task_queue or f"{shared_queue}-fibery",
        )


class LlmSettings(Section):
    """Report writer: ``openai`` (any OpenAI-compatible endpoint) or ``template``.

    Data goes to an LLM only with ``openai``; ``auto`` still loads and means template."""

    provider: Literal["openai", "template", "auto"] = Field(
        "template",
        description="openai = the LLM writer (the only value that sends data to an LLM);"
        " template = the built-in writer; auto = template (kept for old config files)",
    )
    base_url: str | None = Field(
        None,
        description="OpenAI-compatible API root, e.g. http://localhost:11434/v1;"
        " OPENAI_BASE_URL overrides; unset = https://api.openai.com/v1",
    )
    model: str = "gpt-4o-mini"
    temperature: float = Field(0.2, ge=0, le=2)
    max_tokens: int = Field(1500, ge=1, description="completion tokens per call")
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = Field(
        "max_tokens", description="max_completion_tokens for OpenAI reasoning models"
    )
    timeout_seconds: float = Field(120.0, gt=0, description="per attempt of a call")
    max_retries: int = Field(
        2,
        ge=0,
        description="retries of a call on 408/409/429/5xx, timeouts and connection errors"
        " (Retry-After honoured); then the report keeps the template text with a warning",
    )
    input_char_budget: int = Field(
        24000, ge=1000, description="characters of data per prompt; longest texts cut first"
    )
    hours_tolerance: float = Field(
        0.1,
        ge=0,
        description="hours the model states per entity or person may differ this much",
    )
    percent_tolerance: float = Field(
        1.0, ge=0, description="percentage points a share the model states may differ"
    )
    prompts_dir: Path = Field(Path("config/prompts"), description="the prompt templates")


ApiRole = Literal["viewer", "operator", "admin"]
MIN_API_TOKEN_LENGTH = 16


class ApiToken(Section):
    """One bearer token of the management API. ``name`` shows in logs; the token never does."""

    name: str = Field(min_length=1, max_length=64)
    role: ApiRole
    token: SecretStr

    @field_validator("token")
    @classmethod
    def _token_is_long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < MIN_API_TOKEN_LENGTH:
            raise ValueError(f"a token needs at least {MIN_API_TOKEN_LENGTH} characters")
        return value


class ApiSettings(Section):
    """``volt-agent serve``. Tokens also come from ``VOLT_AGENT_API_TOKENS``
    (``role:token`` or ``name:role:token``, comma-separated); they are excluded from dumps,
    so a workflow input built from ``Settings`` never carries them."""

    host: str = Field("127.0.0.1", description="also VOLT_AGENT_API_HOST")
    port: int = Field(8400, ge=1, le=65535, description="also VOLT_AGENT_API_PORT")
    tokens: list[ApiToken] = Field(default_factory=list, exclude=True)

    @field_validator("tokens")
    @classmethod
    def _tokens_are_unique(cls, value: list[ApiToken]) -> list[ApiToken]:
        seen = [t.token.get_secret_value() for t in value]
        if len(set(seen)) != len(seen):
            raise ValueError("the same token is listed twice: give every token one role")
        return value


class MetricsSettings(Section):
    """Prometheus endpoint of ``volt-agent worker`` (Temporal SDK + pipeline metrics)."""

    enabled: bool = True
    host: str = Field("127.0.0.1", description="also VOLT_AGENT_METRICS_HOST")
    port: int = Field(9464, ge=1, le=65535, description="also VOLT_AGENT_METRICS_PORT")


class ReportFanOut(Section):
    """Person reports run as a rolling window over groups of users (history grows per group)."""

    users_per_activity: int = Field(10, ge=1)
    max_concurrent: int = Field(4, ge=1)


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WORKWEEK: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")


class PersonSchedule(Section):
    """One person's override of the team's pattern; an unset key keeps the team's value."""

    hours_per_day: float | None = Field(None, gt=0, le=24)
    working_days: list[Weekday] | None = None


class ScheduleSettings(Section):
    """``reports.schedule``: expected working time, for the ``missing_days``,
    ``under_logging`` and ``overtime`` findings (off when the section is absent)."""

    hours_per_day: float = Field(8.0, gt=0, le=24)
    working_days: list[Weekday] = Field(
        default_factory=lambda: list(WORKWEEK),
        description="weekday names (mon..sun) on which hours_per_day are expected",
    )
    people: dict[str, PersonSchedule] = Field(
        default_factory=dict, description="per-person overrides keyed by Toggl email"
    )
    holidays: list[date] = Field(
        default_factory=list, description="public holidays (YYYY-MM-DD): no time expected"
    )
    under_logging_ratio: float = Field(
        0.8, gt=0, le=1, description="under_logging below this share of the expected hours"
    )
    overtime_ratio: float = Field(
        1.2, ge=1, description="overtime above this multiple of the expected hours"
    )

    @field_validator("people")
    @classmethod
    def _people_are_emails(cls, value: dict[str, PersonSchedule]) -> dict[str, PersonSchedule]:
        for key in value:
            if "@" not in key:
                raise ValueError(f"people key {key!r} must be the person's Toggl email")
        return value


class ReportSettings(ReportFanOut):
    """``reports``: the fan-out (the workflow's) and how report hours are rounded and exported
    (the worker's: never in the workflow input)."""

    rounding: Literal["none", "up", "nearest", "down"] = Field(
        "none", description="per-entry rounding of report hours, as Toggl's report rounding"
    )
    rounding_minutes: Literal[1, 5, 6, 10, 12, 15, 30, 60, 240] = Field(
        15, description="the rounding interval: one of Toggl's (1 min to 4 h)"
    )
    csv_bom: bool = Field(
        False, description="start the CSV exports with a UTF-8 BOM (for spreadsheet apps)"
    )
    schedule: ScheduleSettings | None = Field(
        None, description="working schedule for missing-day, under-logging, overtime findings"
    )
    estimate_field: str = Field(
        "estimate", description="the enrichment field alias holding an estimate in hours"
    )
    estimate_factor: float | None = Field(
        1.5, gt=0, description="over_estimate above estimate x this; null turns it off"
    )


EnrichmentActivity = Literal[
    "enrich_scrum_task", "enrich_scrum_bug", "enrich_product_feature", "default_enrich_entity"
]


class EnrichmentType(Section):
    """How one Fibery type is enriched: which activity, how many batches at once, which fields."""

    activity: EnrichmentActivity = "default_enrich_entity"
    max_concurrent: int = Field(2, ge=1)
    name_field: str | None = Field(
        None, description="default: the type's title field ('{Space}/Name' or '{Space}/name')"
    )
    description_field: str | None = Field(
        None, description="default '{Space}/Description' when the type has that rich-text field"
    )
    fields: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description="alias → Fibery field name, or a path into a relation/enum such as"
        " ['Scrum/Sprint', 'Scrum/Name']",
    )
    closed_at: str | None = Field(
        None,
        description="the alias in `fields` whose date says when the entity was closed"
        " (e.g. completed, resolved); without it closing dates are unknown",
    )

    @model_validator(mode="after")
    def _closed_at_is_a_field_alias(self) -> EnrichmentType:
        if self.closed_at is not None and self.closed_at not in self.fields:
            names = ", ".join(sorted(self.fields)) or "none"
            raise ValueError(
                f"closed_at {self.closed_at!r} must be one of this type's field aliases ({names})"
            )
        return self


class EnrichmentSettings(Section):
    types: dict[str, EnrichmentType] = Field(default_factory=dict)
    default: EnrichmentType = Field(default_factory=EnrichmentType)

    @field_validator("types")
    @classmethod
    def _type_keys_are_space_slash_type(
        cls, value: dict[str, EnrichmentType]
    ) -> dict[str, EnrichmentType]:
        for key in value:
            space, _, name = key.partition("/")
            if not space or not name:
                raise ValueError(f"type key {key!r} must look like 'Space/Type'")
        return value

    def for_type(self, type_key: str) -> EnrichmentType:
        return self.types.get(type_key, self.default)


class EmailDeliverySettings(Section):
    """``delivery.email``: SMTP delivery of the reports (the login comes from the environment:
    ``VOLT_AGENT_SMTP_USERNAME`` / ``VOLT_AGENT_SMTP_PASSWORD``)."""

    host: str = "localhost"
    port: int = Field(587, gt=0, lt=65536)
    starttls: bool = True
    """Upgrade the connection with STARTTLS before logging in (refuse to send without it)."""
    sender: str = ""
    """The ``From`` address; required for email delivery."""
    team_recipients: list[str] = Field(default_factory=list)
    """Who gets the team summary."""
    person_reports: bool = False
    """Send each person their own report, to their Toggl email."""
    timeout_seconds: float = Field(30.0, gt=0)


class WebhookDeliverySettings(Section):
    """``delivery.webhook``: a Slack / Mattermost incoming webhook (its URL is a secret and
    comes from ``VOLT_AGENT_WEBHOOK_URL`` only)."""

    report_url: str = ""
    """The link in the message; ``{run_id}`` is replaced. Empty: the report's location."""
    timeout_seconds: float = Field(30.0, gt=0)


class FiberyDeliverySettings(Section):
    """``delivery.fibery``: the team summary as an entity of a Fibery database, its text in a
    rich-text field (the workspace and token are ``fibery.base_url`` / ``FIBERY_API_TOKEN``).
    The defaults name the sandbox's report database."""

    database: str = "Reports/Weekly Report"
    """The database (``Space/Type``) that gets one entity per delivered run."""
    name_field: str = "Reports/Name"
    """Its title field: ``Team report <start>..<end>``."""
    period_field: str = "Reports/Period"
    """A text field for ``<start>..<end>``; empty: not written."""
    document_field: str = "Reports/Summary"
    """The rich-text field that gets the team summary (Markdown)."""

    @field_validator("database")
    @classmethod
    def _database_is_space_slash_type(cls, value: str) -> str:
        space, _, name = value.partition("/")
        if not space or not name:
            raise ValueError(
                f"{value!r} must look like 'Space/Type' (e.g. 'Reports/Weekly Report')"
            )
        return value

    @field_validator("name_field", "document_field")
    @classmethod
    def _fields_are_space_slash_field(cls, value: str) -> str:
        space, _, name = value.partition("/")
        if not space or not name:
            raise ValueError(f"{value!r} must be a Fibery field name like 'Space/Field'")
        return value

    @field_validator("period_field")
    @classmethod
    def _period_field_is_empty_or_a_field(cls, value: str) -> str:
        return cls._fields_are_space_slash_field(value) if value else value


class DeliverySettings(Section):
    """``delivery``: where a run that opted in (``--deliver``) sends its reports."""

    email: EmailDeliverySettings = Field(default_factory=EmailDeliverySettings)
    webhook: WebhookDeliverySettings = Field(default_factory=WebhookDeliverySettings)
    fibery: FiberyDeliverySettings = Field(default_factory=FiberyDeliverySettings)


class Settings(Section):
    """Everything non-secret. Safe to log and to pass through workflow inputs."""

    output_dir: Path = Path("tmp/runs")
    storage_url: str | None = Field(
        None,
        description="s3://bucket/prefix: run folders in an S3-compatible bucket (endpoint and"
        " credentials from the AWS_* environment variables) instead of output_dir; also"
        " VOLT_AGENT_STORAGE_URL",
    )
    data_dir: Path = Field(
        Path("tmp/data"), description="embedded Temporal's SQLite file lives here"
    )
    http: HttpSettings = Field(default_factory=HttpSettings)
    toggl: TogglSettings = Field(default_factory=TogglSettings)
    fibery: FiberySettings = Field(default_factory=FiberySettings)
    parsing: ParsingSettings = Field(default_factory=ParsingSettings)
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    api_queues: ApiQueueSettings = Field(default_factory=ApiQueueSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    enrichment: EnrichmentSettings = Field(default_factory=EnrichmentSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)


class Secrets(BaseModel):
    """Tokens, read from the environment (and ``.env``) only, never from YAML or workflow input."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    toggl_api_token: SecretStr | None = None
    fibery_api_token: SecretStr | None = None
    openai_api_key: SecretStr | None = None
    smtp_username: SecretStr | None = None
    smtp_password: SecretStr | None = None
    webhook_url: SecretStr | None = None

    def require_toggl(self) -> SecretStr:
        if self.toggl_api_token is None or not self.toggl_api_token.get_secret_value():
            raise ConfigError("TOGGL_API_TOKEN is not set: put it in the environment or .env")
        return self.toggl_api_token

    def require_fibery(self) -> SecretStr:
        if self.fibery_api_token is None or not self.fibery_api_token.get_secret_value():
            raise ConfigError("FIBERY_API_TOKEN is not set: put it in the environment or .env")
        return self.fibery_api_token


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path} is not valid YAML{where}: fix its syntax") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level")
    return data


def _first_error(exc: ValidationError, path: Path) -> ConfigError:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    return ConfigError(f"{path}: {where}: {err['msg']}")


def merged_environment(env_file: Path | None = Path(".env")) -> dict[str, str]:
    """The process environment over the values of ``env_file`` (the environment wins)."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


def load_settings(
    config_path: Path | None = None,
    enrichment_path: Path | None = None,
    env: dict[str, str] | None = None,
) -> Settings:
    """Build ``Settings`` from the YAML files with environment overrides applied on top."""
    env = merged_environment() if env is None else env
    config_path = config_path or DEFAULT_CONFIG_PATH
    raw = (
        _read_yaml(config_path)
        if config_path.exists() or config_path != DEFAULT_CONFIG_PATH
        else {}
    )
    enrichment_path = enrichment_path or config_path.parent / DEFAULT_ENRICHMENT_PATH.name
    if enrichment_path.exists():
        raw["enrichment"] = _read_yaml(enrichment_path)
    _apply_env_overrides(raw, env)
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise _first_error(exc, config_path) from exc


def _apply_env_overrides(raw: dict[str, Any], env: dict[str, str]) -> None:
    overrides = {
        ("toggl", "workspace_id"): env.get("TOGGL_WORKSPACE_ID"),
        ("toggl", "base_url"): env.get("TOGGL_BASE_URL"),
        ("fibery", "base_url"): env.get("FIBERY_BASE_URL"),
        ("llm", "base_url"): env.get("OPENAI_BASE_URL"),
        ("temporal", "address"): env.get("TEMPORAL_ADDRESS"),
        ("temporal", "namespace"): env.get("TEMPORAL_NAMESPACE"),
        ("temporal", "ui_url"): env.get("TEMPORAL_UI_URL"),
        ("temporal", "worker_deployment"): env.get("TEMPORAL_WORKER_DEPLOYMENT"),
        ("temporal", "worker_build_id"): env.get("TEMPORAL_WORKER_BUILD_ID"),
        ("output_dir",): env.get("VOLT_AGENT_OUTPUT_DIR"),
        ("storage_url",): env.get("VOLT_AGENT_STORAGE_URL"),
        ("api", "host"): env.get("VOLT_AGENT_API_HOST"),
        ("api", "port"): env.get("VOLT_AGENT_API_PORT"),
        ("metrics", "host"): env.get("VOLT_AGENT_METRICS_HOST"),
        ("metrics", "port"): env.get("VOLT_AGENT_METRICS_PORT"),
        ("api_queues", "workers"): env.get("VOLT_AGENT_API_WORKERS"),
    }
    for path, value in overrides.items():
        if not value:
            continue
        target = raw
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    tokens = env.get("VOLT_AGENT_API_TOKENS", "").strip()
    if tokens:
        api = raw.setdefault("api", {})
        api["tokens"] = [*(api.get("tokens") or []), *parse_api_tokens(tokens)]


def parse_api_tokens(text: str) -> list[dict[str, str]]:
    """``VOLT_AGENT_API_TOKENS``: comma-separated ``role:token`` or ``name:role:token``.

    Messages name the entry by position only: a token never appears in an error.
    """
    roles = ("viewer", "operator", "admin")
    parsed = []
    for position, item in enumerate((i.strip() for i in text.split(",")), start=1):
        if not item:
            continue
        first, _, rest = item.partition(":")
        parts = item.split(":", 2)
        if first in roles and rest:
            name, role, token = f"env-{position}", first, rest
        elif len(parts) == 3 and parts[1] in roles:
            name, role, token = parts
        else:
            raise ConfigError(
                f"VOLT_AGENT_API_TOKENS entry {position} must be role:token or name:role:token"
                f" with role one of {', '.join(roles)}"
            )
        parsed.append({"name": name, "role": role, "token": token})
    return parsed


def load_secrets(env: dict[str, str] | None = None) -> Secrets:
    env = merged_environment() if env is None else env

    def secret(name: str) -> SecretStr | None:
        value = env.get(name, "").strip()
        return SecretStr(value) if value else None

    return Secrets(
        toggl_api_token=secret("TOGGL_API_TOKEN"),
        fibery_api_token=secret("FIBERY_API_TOKEN"),
        openai_api_key=secret("OPENAI_API_KEY"),
        smtp_username=secret("VOLT_AGENT_SMTP_USERNAME"),
        smtp_password=secret("VOLT_AGENT_SMTP_PASSWORD"),
        webhook_url=secret("VOLT_AGENT_WEBHOOK_URL"),
    )
