"""Activities: thin adapters that load inputs from the run folder, call pure logic or a
client, save outputs atomically and return counts.

Dependencies (settings, secrets, API clients, report writer) are injected when the worker
starts. Errors are classified once: ``FatalSourceError``, ``UserInputError``,
``ConfigError`` and ``StorageError`` become non-retryable; everything else is left to the
activity retry policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from volt_agent.config import Secrets, Settings
from volt_agent.delivery.service import deliver_run
from volt_agent.domain.aggregation import UNKNOWN_TYPE, Aggregation, referenced_entities
from volt_agent.domain.models import (
    CompletenessCheck,
    EnrichedData,
    EnrichedEntity,
    FetchStatistics,
    RawTogglData,
    UserAggregate,
)
from volt_agent.domain.parsing import DescriptionParser
from volt_agent.domain.rounding import RoundingPolicy, policy_line, round_user
from volt_agent.enrichment.registry import enricher_for
from volt_agent.enrichment.run_schema import ensure_run_schema, load_run_schema
from volt_agent.errors import (
    ConfigError,
    FatalSourceError,
    QuotaWaitError,
    RateLimitedError,
    RetryableSourceError,
    UserInputError,
    VoltAgentError,
)
from volt_agent.metrics import PipelineMetrics
from volt_agent.pipeline.aggregate_step import FetchedEntries, aggregate_run
from volt_agent.pipeline.enriched_file import enriched_chunks
from volt_agent.pipeline.enrichment_store import EnrichmentStore, RunKey, RunStores
from volt_agent.pipeline.fetch_journal import (
    LEGACY_JOURNAL_FILE,
    PAGES_DIR,
    FetchCheckpoint,
    PageJournal,
    ResumePoint,
    checkpoint_from,
    entries_text,
)
from volt_agent.pipeline.heartbeat import (
    Heartbeat,
    checkpoint_heartbeat,
    keeps_heartbeating,
    longest_wait,
)
from volt_agent.pipeline.offload import (
    iter_dump_spooled,
    save_model,
    save_text,
)
from volt_agent.pipeline.person_slices import PersonSlices
from volt_agent.pipeline.raw_spool import EntrySpool
from volt_agent.pipeline.team_pass import team_pass
from volt_agent.pipeline.toggl_fetch import (
    FetchPlan,
    check_completeness,
    mismatch_error,
    plan_fetch,
    quota_of,
)
from volt_agent.pipeline.trends_step import compare_with_previous
from volt_agent.pipeline.types import (
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
    LlmUsage,
    PersonReportInput,
    PersonReportsResult,
    ReportResult,
    RunRef,
    RunStatusUpdate,
    SaveEnrichedResult,
)
from volt_agent.reporting.exports import PERSON_ENTITY_CSV, person_entity_csv_chunks_of
from volt_agent.reporting.html import REPORT_HTML, html_report_chunks
from volt_agent.reporting.insight_config import insight_settings
from volt_agent.reporting.llm_usage import ReportTelemetry, collect_telemetry
from volt_agent.reporting.policy import with_policy_line
from volt_agent.reporting.trends import TRENDS_JSON
from volt_agent.reporting.trends_render import (
    person_trend_section,
    team_trend_section,
    trend_chart_svg,
    with_section,
)
from volt_agent.reporting.writer import ReportWriter
from volt_agent.sources.fibery import FiberyClient
from volt_agent.sources.fibery_schema import check_enrichment_config
from volt_agent.sources.http import waits_at_most
from volt_agent.sources.pagination import PageCursor
from volt_agent.sources.recording import RecordingTransport, masker_for, recording_transport
from volt_agent.sources.toggl import TogglClient
from volt_agent.sources.toggl_rows import TimeEntryPage
from volt_agent.storage.atomic import StorageError
from volt_agent.storage.backends import open_storage
from volt_agent.storage.run_folder import (
    ENRICHED_DATA,
    ENRICHMENT_PARTS_DIR,
    FIBERY_SCHEMA,
    INDIVIDUAL_DIR,
    RAW_TOGGL,
    TEAM_SUMMARY,
    TOGGL_AGGREGATED,
    TOGGL_SUMMARY,
    RunFolder,
    user_slug,
)
from volt_agent.storage.run_metadata import TERMINAL_STATUSES, record

P = ParamSpec("P")
R = TypeVar("R")

STATUSES = {"found", "not_found", "error"}

NON_RETRYABLE = (FatalSourceError, UserInputError, ConfigError, StorageError)


def classified(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Turn volt-agent errors into Temporal application errors of the right retryability.

    A wait the API asked for (``Retry-After``, an hourly quota's reset) becomes the
    ``next_retry_delay``: the attempt ends and Temporal retries it then, however far away.
    """

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except NON_RETRYABLE as exc:
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc
        except RateLimitedError as exc:
            delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
            raise ApplicationError(
                str(exc), type=type(exc).__name__, next_retry_delay=delay
            ) from exc
        except QuotaWaitError as exc:
            raise ApplicationError(
                str(exc),
                type=type(exc).__name__,
                next_retry_delay=timedelta(seconds=max(exc.resets_in, 1.0)),
            ) from exc
        except (RetryableSourceError, VoltAgentError) as exc:
            raise ApplicationError(str(exc), type=type(exc).__name__) from exc

    return wrapper


class PipelineActivities:
    """Every activity of the pipeline, bound to one worker's dependencies."""

    def __init__(
        self,
        settings: Settings,
        secrets: Secrets,
        writer: ReportWriter,
        *,
        toggl: TogglClient | None = None,
        fibery: FiberyClient | None = None,
        record_dir: Path | None = None,
    ) -> None:
        """``record_dir`` (``--record``): the clients built here save every exchange there,
        masked (``sources.recording``). It is this worker's choice, never the workflow's."""
        self._settings = settings
        self._storage = open_storage(settings)
        self._secrets = secrets
        self._writer = writer
        self._toggl = toggl
        self._fibery = fibery
        self._record_dir = record_dir
        self._masker = masker_for(secrets) if record_dir is not None else None
        self._parser = DescriptionParser(settings.parsing)
        self._stores = RunStores()
        """Per workflow run, never per path: a re-run of a run id must see its new files."""
        self._rounding = RoundingPolicy(
            settings.reports.rounding, settings.reports.rounding_minutes
        )
        """Rounding of report hours (``reports.rounding``); JSON artifacts stay raw."""
        self._insights = insight_settings(settings.reports)
        """The findings' thresholds, as the report writers have them."""
        self.metrics = PipelineMetrics()
        """Replaced by the worker's (``build_worker``) when it exports metrics."""

    def toggl(self) -> TogglClient:
        if self._toggl is None:
            self._toggl = TogglClient.create(
                self._settings.toggl,
                self._settings.http,
                self._secrets.require_toggl(),
                self._transport("toggl"),
            )
        return self._toggl

    def fibery(self) -> FiberyClient:
        if self._fibery is None:
            if not self._settings.fibery.base_url:
                raise ConfigError("fibery.base_url is not set: set FIBERY_BASE_URL")
            self._fibery = FiberyClient.create(
                self._settings.fibery,
                self._settings.http,
                self._secrets.require_fibery(),
                self._transport("fibery"),
            )
        return self._fibery

    def _transport(self, source: str) -> RecordingTransport | None:
        if self._record_dir is None or self._masker is None:
            return None
        return recording_transport(self._record_dir, self._masker, source)

    async def aclose(self) -> None:
        for client in (self._toggl, self._fibery):
            if client is not None:
                await client.aclose()

    def all(self) -> list[Callable[..., Any]]:
        """Activities for ``Worker(activities=...)``."""
        return [
            self.record_run_status,
            self.cleanup_toggl_stage,
            self.fetch_toggl_data,
            self.aggregate_toggl_data,
            self.generate_toggl_report,
            self.cleanup_fibery_stage,
            self.extract_fibery_entities,
            self.enrich_scrum_task,
            self.enrich_scrum_bug,
            self.enrich_product_feature,
            self.default_enrich_entity,
            self.save_failed_batch,
            self.generate_person_reports,
            self.save_enriched_data,
            self.generate_team_report,
            self.deliver_reports,
        ]

    # ---------------------------------------------------------------- metadata

    @activity.defn(name="record_run_status")
    @classified
    async def record_run_status(self, update: RunStatusUpdate) -> None:
        """On a finished run, also sweep the temp files of writers killed mid-write."""
        folder = self._folder(update.run)
        meta = record(folder, update)
        if update.status in TERMINAL_STATUSES and (swept := folder.sweep_orphans()):
            activity.logger.info(
                "run %s: removed %d orphaned temp file(s)", meta.run_id, len(swept)
            )
        self._sync_request_metrics()
        self.metrics.run_recorded(update, meta)

    # ------------------------------------------------------------ toggl stage

    @activity.defn(name="cleanup_toggl_stage")
    @classified
    async def cleanup_toggl_stage(self, run: RunRef) -> list[str]:
        return self._folder(run).remove(
            RAW_TOGGL, LEGACY_JOURNAL_FILE, PAGES_DIR, TOGGL_AGGREGATED, TOGGL_SUMMARY
        )

    @activity.defn(name="fetch_toggl_data")
    @classified
    async def fetch_toggl_data(self, params: FetchInput) -> FetchResult:
        """Fetch the range (plus the time-zone margin) page by page, checkpointing the cursor
        after each stored page (``pipeline.fetch_journal``); check the sum against Toggl's
        totals; keep each person's local days of the range.

        The latest checkpoint is heartbeated all along, through every wait, and no single wait
        outlasts ``WAIT_SHARE`` of the heartbeat timeout: a longer one (a far quota reset, a
        long ``Retry-After``) ends the attempt with the wait as its ``next_retry_delay``, and
        the retry resumes from the journal.
        """
        async with checkpoint_heartbeat() as heartbeat:
            with waits_at_most(longest_wait(math.inf)):
                return await self._fetch_toggl_data(params, heartbeat)

    async def _fetch_toggl_data(self, params: FetchInput, heartbeat: Heartbeat) -> FetchResult:
        folder = self._folder(params.run)
        toggl = self.toggl()
        requests_before = toggl.request_count
        plan = await plan_fetch(
            toggl, self._settings.toggl, params.start_date, params.end_date, params.users
        )

        checkpoint = checkpoint_from(activity.info().heartbeat_details)
        journal = PageJournal(folder, activity.info().attempt)
        start = journal.resume_point(checkpoint)
        pages = resumed_from = start.pages
        earlier_requests = checkpoint.requests if checkpoint else 0
        mismatches = checkpoint.mismatches if checkpoint else 0

        def progress(cursor: PageCursor | None, pages: int, **flags: Any) -> None:
            requests = earlier_requests + toggl.request_count - requests_before
            point = FetchCheckpoint(
                cursor=cursor, pages=pages, requests=requests, mismatches=mismatches, **flags
            )
            heartbeat.beat(point.model_dump(mode="json"))

        progress(start.cursor, pages)
        aggregation = Aggregation(plan.users, self._parser, default_timezone=plan.default_timezone)
        spooler = EntrySpool(
            zones=plan.zones,
            default_timezone=plan.default_timezone,
            start=params.start_date,
            end=params.end_date,
            on_kept=aggregation.add,
        )
        spool = spooler.spooled
        try:
            pages = await _fetch_pages(
                toggl, plan, journal, spool=spooler, start=start, progress=progress
            )
        except BaseException:
            spool.close()
            raise
        with contextlib.closing(spool):
            stats = spool.stats
            check = await check_completeness(
                toggl,
                plan,
                spool.fetched_seconds,
                attempt=mismatches + 1,
                running_timers=stats.running_entries_dropped,
            )
            if not check.accepted:
                journal.discard(pages)
                first = mismatches == 0
                mismatches += 1
                pages = 0
                progress(None, pages, restart=True)
                raise mismatch_error(check, stats, first=first)
            stats.entries_kept -= spool.outside
            stats.outside_range_dropped += spool.outside
            raw = self._raw_head(params, plan, check, stats)
            raw.request_count = earlier_requests + toggl.request_count - requests_before
            chunks = iter_dump_spooled(raw, "entries", spool.file, spool.kept)
            await asyncio.to_thread(folder.save_stream, RAW_TOGGL, chunks)
        self._store(folder).keep_fetched(FetchedEntries(raw, aggregation))
        await asyncio.to_thread(journal.discard, pages)  # a file per page
        self.metrics.entries_fetched(spool.kept)
        self._sync_request_metrics()
        dropped = (
            stats.duplicates_dropped
            + stats.running_entries_dropped
            + stats.negative_durations_dropped
            + stats.malformed_rows_dropped
            + stats.outside_range_dropped
        )
        return FetchResult(
            entries=spool.kept,
            users=len(spool.user_ids),
            requests=raw.request_count,
            pages=pages,
            resumed_from_page=resumed_from,
            dropped=dropped,
            statistics=stats,
            completeness=check,
            token_is_admin=plan.visibility.token_is_admin,
            default_timezone=plan.default_timezone,
            configured_timezones=sum(u.timezone_source == "config" for u in plan.users),
            quota=quota_of(toggl),
            page_size=toggl.page_size,
        )

    def _raw_head(
        self, params: FetchInput, plan: FetchPlan, check: CompletenessCheck, stats: FetchStatistics
    ) -> RawTogglData:
        """``raw_toggl_data.json`` without its entries (written after it from the spool)."""
        return RawTogglData(
            start_date=params.start_date,
            end_date=params.end_date,
            workspace_id=plan.workspace_id,
            user_filter=params.users,
            users=plan.users,
            default_timezone=plan.default_timezone,
            fetch_start_date=plan.start_date,
            fetch_end_date=plan.end_date,
            fetched_at=activity.info().current_attempt_scheduled_time,
            statistics=stats,
            completeness=check,
            visibility=plan.visibility,
        )

    @activity.defn(name="aggregate_toggl_data")
    @classified
    async def aggregate_toggl_data(self, run: RunRef) -> AggregateResult:
        folder = self._folder(run)
        fetched = self._store(folder).take_fetched()
        people, view = await asyncio.to_thread(
            aggregate_run, folder, self._parser, self._rounding, fetched
        )
        self._store(folder).keep_aggregate(people, view)
        stats = people.head.statistics
        return AggregateResult(
            users=stats.user_count,
            entries=stats.entry_count,
            matched_entries=stats.matched_entry_count,
            unmatched_entries=stats.unmatched_entry_count,
            entities=stats.unique_entity_count,
            total_seconds=stats.total_seconds,
        )

    @activity.defn(name="generate_toggl_report")
    @classified
    @keeps_heartbeating
    async def generate_toggl_report(self, run: RunRef) -> ReportResult:
        folder = self._folder(run)
        with collect_telemetry() as telemetry:
            view = await asyncio.to_thread(self._store(folder).toggl_view, self._rounding)
            summary = await self._writer.toggl_summary(view.aggregated, view.days, view.names)
            text = with_policy_line(summary, self._rounding)
        await save_text(folder, TOGGL_SUMMARY, text)
        return ReportResult(
            path=TOGGL_SUMMARY,
            writer=self._writer.name,
            characters=len(text),
            **_telemetry_fields(telemetry),
        )

    # ----------------------------------------------------------- fibery stage

    @activity.defn(name="cleanup_fibery_stage")
    @classified
    async def cleanup_fibery_stage(self, run: RunRef) -> list[str]:
        self._stores.forget_enrichment(_workflow_run())
        return self._folder(run).remove(
            FIBERY_SCHEMA,
            ENRICHED_DATA,
            ENRICHMENT_PARTS_DIR,
            INDIVIDUAL_DIR,
            TEAM_SUMMARY,
            REPORT_HTML,
        )

    @activity.defn(name="extract_fibery_entities")
    @classified
    @keeps_heartbeating  # a regular activity on the Fibery queue (api_queues): waits there
    async def extract_fibery_entities(self, run: RunRef) -> ExtractResult:
        folder = self._folder(run)
        if not folder.exists(TOGGL_AGGREGATED):
            raise UserInputError(
                f"run {run.run_id} has no {TOGGL_AGGREGATED}: run the Toggl stage first"
            )
        store = self._store(folder)  # keeps the people for the report stages
        aggregated = await asyncio.to_thread(store.slim_aggregate)
        ids_by_type = await asyncio.to_thread(referenced_entities, aggregated)  # O(groups)
        enrichment = self._settings.enrichment
        queried = [key for key in ids_by_type if key != UNKNOWN_TYPE]
        if queried:  # schema first: one request per run, checked before any entity query
            schema = await ensure_run_schema(folder, self.fibery().schema)
            check_enrichment_config(schema, enrichment, queried)
        plan = store.write_plan(ids_by_type, self._settings.fibery.batch_size)
        batches = [
            EnrichmentBatch(
                type_key=item.type_key,
                index=item.index,
                size=len(item.ids),
                activity=enrichment.for_type(item.type_key).activity,
            )
            for item in plan
        ]
        return ExtractResult(
            batches=batches,
            entities_by_type={k: len(v) for k, v in ids_by_type.items()},
            max_concurrent_by_type={k: enrichment.for_type(k).max_concurrent for k in ids_by_type},
            user_ids=[u.user_id for u in aggregated.users],
        )

    @activity.defn(name="enrich_scrum_task")
    @classified
    @keeps_heartbeating
    async def enrich_scrum_task(self, params: EnrichBatchInput) -> EnrichBatchResult:
        return await self._enrich(params, "enrich_scrum_task")

    @activity.defn(name="enrich_scrum_bug")
    @classified
    @keeps_heartbeating
    async def enrich_scrum_bug(self, params: EnrichBatchInput) -> EnrichBatchResult:
        return await self._enrich(params, "enrich_scrum_bug")

    @activity.defn(name="enrich_product_feature")
    @classified
    @keeps_heartbeating
    async def enrich_product_feature(self, params: EnrichBatchInput) -> EnrichBatchResult:
        return await self._enrich(params, "enrich_product_feature")

    @activity.defn(name="default_enrich_entity")
    @classified
    @keeps_heartbeating
    async def default_enrich_entity(self, params: EnrichBatchInput) -> EnrichBatchResult:
        return await self._enrich(params, "default_enrich_entity")

    async def _enrich(self, params: EnrichBatchInput, enricher_name: str) -> EnrichBatchResult:
        batch = params.batch
        folder = self._folder(params.run)
        store = self._store(folder)
        ids = store.batch_ids(batch.type_key, batch.index)
        if batch.type_key == UNKNOWN_TYPE:
            entities = [
                EnrichedEntity(
                    type_key=batch.type_key,
                    public_id=public_id,
                    status="error",
                    error="the description names no [database] [type], so the entity"
                    " cannot be looked up in Fibery",
                )
                for public_id in ids
            ]
        else:
            config = self._settings.enrichment.for_type(batch.type_key)
            fetched = await self.fibery().fetch_entities(
                batch.type_key, ids, config, schema=load_run_schema(folder)
            )
            enrich = enricher_for(enricher_name)
            entities = [enrich(e) if e.status == "found" else e for e in fetched]
        store.save_batch(batch.type_key, batch.index, entities)
        result = EnrichBatchResult(
            type_key=batch.type_key,
            index=batch.index,
            found=sum(e.status == "found" for e in entities),
            not_found=sum(e.status == "not_found" for e in entities),
            error=sum(e.status == "error" for e in entities),
        )
        self.metrics.entities_enriched(batch.type_key, result.model_dump(include=STATUSES))
        self._sync_request_metrics()
        return result

    @activity.defn(name="save_failed_batch")
    @classified
    async def save_failed_batch(self, params: FailedBatchInput) -> EnrichBatchResult:
        """The batch file of a batch whose enrichment failed for good: every entity of it as
        ``status: error`` with the failure, so the run's files stay complete."""
        batch = params.batch
        store = self._store(self._folder(params.run))
        entities = [
            EnrichedEntity(
                type_key=batch.type_key, public_id=public_id, status="error", error=params.error
            )
            for public_id in store.batch_ids(batch.type_key, batch.index)
        ]
        store.save_batch(batch.type_key, batch.index, entities)
        result = EnrichBatchResult(
            type_key=batch.type_key, index=batch.index, found=0, not_found=0, error=len(entities)
        )
        self.metrics.entities_enriched(batch.type_key, result.model_dump(include=STATUSES))
        return result

    @activity.defn(name="generate_person_reports")
    @classified
    @keeps_heartbeating
    async def generate_person_reports(self, params: PersonReportInput) -> PersonReportsResult:
        folder = self._folder(params.run)
        store = self._store(folder)
        people = await asyncio.to_thread(store.slices)
        await asyncio.to_thread(store.index)
        missing = [uid for uid in params.user_ids if uid not in people.blobs]
        if missing:
            raise UserInputError(f"users {missing} are not in {TOGGL_AGGREGATED}")
        period = (people.head.start_date, people.head.end_date)
        paths = []
        trends = await asyncio.to_thread(store.trends)
        with collect_telemetry() as telemetry:
            for uid in params.user_ids:
                user = await asyncio.to_thread(_rounded_person, people, uid, self._rounding)
                text = await self._writer.person_report(user, store.entities_for(user), period)
                text = with_policy_line(text, self._rounding)
                text = with_section(text, person_trend_section(trends, uid))
                path = folder.individual_report(user_slug(user.user_name, user.user_id))
                await save_text(folder, path, text)
                paths.append(path)
                activity.heartbeat(len(paths))
        return PersonReportsResult(
            paths=paths, writer=self._writer.name, **_telemetry_fields(telemetry)
        )

    @activity.defn(name="save_enriched_data")
    @classified
    async def save_enriched_data(self, run: RunRef) -> SaveEnrichedResult:
        folder = self._folder(run)
        store = self._store(folder)
        head = await asyncio.to_thread(store.slim_aggregate)
        entities = await asyncio.to_thread(store.index)
        tally = entities.tally
        statistics = tally.statistics()
        chunks = enriched_chunks(folder, head, entities.texts(), statistics)
        await asyncio.to_thread(folder.save_stream, ENRICHED_DATA, chunks)
        return SaveEnrichedResult(
            entities=statistics["entities"],
            found=statistics["found"],
            not_found=statistics["not_found"],
            error=statistics["error"],
            path=ENRICHED_DATA,
            comments=tally.comments,
            comments_kept=tally.comments_kept,
            comments_truncated=tally.comments - tally.comments_kept,
            entities_with_truncated_comments=tally.truncated_entities,
        )

    @activity.defn(name="generate_team_report")
    @classified
    @keeps_heartbeating
    async def generate_team_report(self, run: RunRef) -> ReportResult:
        result = await self._team_report(self._folder(run))
        store = self._stores.pop(_workflow_run())  # the run's last use of its cache
        if store is not None:  # freed a piece at a time in a thread, not at once on the loop
            await asyncio.to_thread(store.release)
        return result

    async def _team_report(self, folder: RunFolder) -> ReportResult:
        store = self._store(folder)
        people = await asyncio.to_thread(store.slices)
        index = await asyncio.to_thread(store.team_index, (self._insights.estimate_field,))
        entities = list(index.values())
        policy = self._rounding
        bom = self._settings.reports.csv_bom
        team = await asyncio.to_thread(
            team_pass, folder, people, index, policy, self._insights, bom=bom
        )  # entries.csv and everything else that reads single entries, person by person
        store.drop_entries()  # each person's compressed entries: the team pass read them all
        current = EnrichedData(aggregated=people.head, entities=entities)
        trends = await asyncio.to_thread(compare_with_previous, folder, current)
        await save_model(folder, TRENDS_JSON, trends)
        data = EnrichedData(aggregated=team.aggregated, entities=entities)
        with collect_telemetry() as telemetry:
            text = with_policy_line(await self._writer.team_report(data, team.digest), policy)
        text = with_section(text, team_trend_section(trends))
        await save_text(folder, TEAM_SUMMARY, text)
        line = policy_line(policy) if policy.active else ""
        chart = trend_chart_svg(trends)
        page = html_report_chunks(
            data, self._insights, rounding=line, digest=team.digest, appendix=chart
        )
        await asyncio.to_thread(folder.save_stream, REPORT_HTML, page)
        rows = person_entity_csv_chunks_of(team.aggregated.users, index, bom=bom)
        await asyncio.to_thread(folder.save_stream, PERSON_ENTITY_CSV, rows)
        return ReportResult(
            path=TEAM_SUMMARY,
            writer=self._writer.name,
            characters=len(text),
            html_path=REPORT_HTML,
            **_telemetry_fields(telemetry),
        )

    @activity.defn(name="deliver_reports")
    @classified
    async def deliver_reports(self, params: DeliverInput) -> DeliverResult:
        """Failures are warnings; ``delivery.json`` makes a retry skip what was sent."""
        outcome = await deliver_run(
            self._folder(params.run),
            params.channels,
            self._settings.delivery,
            self._secrets,
            scope=_workflow_run()[1],
            fibery=self.fibery,
        )
        return DeliverResult(sent=outcome.sent, skipped=outcome.skipped, warnings=outcome.warnings)

    def _sync_request_metrics(self) -> None:
        for source, client in (("toggl", self._toggl), ("fibery", self._fibery)):
            if client is not None:
                self.metrics.sync_requests(source, client.stats)

    def _folder(self, run: RunRef) -> RunFolder:
        """The run's folder in this worker's own storage (``storage_url`` or ``output_dir``),
        never the workflow's."""
        return RunFolder(self._storage, run.run_id)

    def _store(self, folder: RunFolder) -> EnrichmentStore:
        """The enrichment store of the calling activity's workflow run."""
        return self._stores.get(_workflow_run(), folder)


async def _fetch_pages(
    toggl: TogglClient,
    plan: FetchPlan,
    journal: PageJournal,
    *,
    spool: EntrySpool,
    start: ResumePoint,
    progress: Callable[[PageCursor | None, int], None],
) -> int:
    """Spool the pages an earlier attempt stored, then fetch, store and spool the rest,
    ``progress`` after each; how many pages are stored."""
    pages = start.pages
    if pages:  # each parsed off the loop
        resumed = FetchCheckpoint(cursor=start.cursor, pages=pages)
        await asyncio.to_thread(spool.add_stored, journal, resumed)
    if start.finished:
        return pages
    cursor = start.cursor
    async for page in toggl.iter_time_entry_pages(
        plan.start_date, plan.end_date, plan.user_ids, cursor, workspace_id=plan.workspace_id
    ):
        await asyncio.to_thread(_store_page, journal, spool, pages + 1, cursor, page)
        pages += 1
        cursor = page.next_cursor
        progress(cursor, pages)
    return pages


def _store_page(
    journal: PageJournal,
    spool: EntrySpool,
    number: int,
    cursor: PageCursor | None,
    page: TimeEntryPage,
) -> None:
    """Store page ``number`` (fsynced) and spool its kept entries: its rows rendered once
    for both (for a thread)."""
    rendered = entries_text(page.entries)
    journal.write(number, cursor, page, rendered)
    spool.add(page, rendered)


def _workflow_run() -> RunKey:
    info = activity.info()
    return (info.workflow_id or "", info.workflow_run_id or "")


def _rounded_person(people: PersonSlices, user_id: int, policy: RoundingPolicy) -> UserAggregate:
    return round_user(people.person(user_id), policy)


def _telemetry_fields(telemetry: ReportTelemetry) -> dict[str, Any]:
    """``llm`` and ``warnings`` of a report result from what the writer recorded."""
    usage = LlmUsage(
        calls=telemetry.calls,
        prompt_tokens=telemetry.prompt_tokens,
        completion_tokens=telemetry.completion_tokens,
    )
    return {"llm": usage, "warnings": telemetry.all_warnings()}
