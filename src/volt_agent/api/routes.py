"""Endpoints: thin shells over ``volt_agent.runs`` and ``volt_agent.schedules.service``."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from volt_agent.api.auth import Principal, require
from volt_agent.api.models import (
    SCHEDULE_NAME_REGEX,
    CancelRequested,
    CreateScheduleRequest,
    ErrorBody,
    Health,
    RunStarted,
    StartRunRequest,
    Triggered,
)
from volt_agent.api.state import gateway_of, settings_of
from volt_agent.api.temporal import (
    check_run_storage,
    check_temporal_and_workers,
)
from volt_agent.pipeline.service import RunExistsError, prepare_run, start_run
from volt_agent.pipeline.types import RunStatus
from volt_agent.runs import RunDetail, RunSummary, cancel_run, get_run, list_runs, read_report
from volt_agent.schedules import service as schedules
from volt_agent.schedules.service import ScheduleSummary

logger = logging.getLogger(__name__)

Viewer = Annotated[Principal, Depends(require("viewer"))]
Operator = Annotated[Principal, Depends(require("operator"))]
Admin = Annotated[Principal, Depends(require("admin"))]
RunId = Annotated[str, Path(description="A run id (unknown or invalid ids are 404)")]
ScheduleName = Annotated[str, Path(pattern=SCHEDULE_NAME_REGEX)]

_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or unknown bearer token"},
    403: {"model": ErrorBody, "description": "The token's role is too low"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "No such"}}
_CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": ErrorBody, "description": "Conflict"}}
_INVALID: dict[int | str, dict[str, Any]] = {422: {"model": ErrorBody, "description": "Invalid"}}
_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "Temporal is not reachable"}
}

health_router = APIRouter(tags=["health"])
runs_router = APIRouter(prefix="/runs", tags=["runs"], responses=_AUTH)
schedules_router = APIRouter(
    prefix="/schedules", tags=["schedules"], responses={**_AUTH, **_UNAVAILABLE}
)


@health_router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health, "description": "A check failed"}},
)
async def health(request: Request) -> JSONResponse:
    """Temporal reachable, workers polling the pipeline's task queue, run folders reachable
    (the output folder writable, or the ``storage_url`` bucket answering: reported as
    ``output_dir``). 200 when all pass, else 503; open (no token), for probes and monitors.
    Cheap: at most one Temporal RPC and one bucket listing (answers are reused for 2 s), and
    no writes."""
    settings = settings_of(request)
    gateway = gateway_of(request)
    temporal, workers = await check_temporal_and_workers(gateway, settings.temporal.task_queue)
    storage = await check_run_storage(gateway, settings)
    report = Health(status="ok", temporal=temporal, workers=workers, output_dir=storage)
    healthy = report.temporal.ok and report.workers.ok and report.output_dir.ok
    report.status = "ok" if healthy else "unhealthy"
    return JSONResponse(report.model_dump(), status_code=200 if healthy else 503)


@runs_router.get("", response_model=list[RunSummary])
async def get_runs(
    request: Request,
    _: Viewer,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    status: RunStatus | None = None,
) -> list[RunSummary]:
    """The newest runs, reconciled with Temporal when it answers (``reconciled``)."""
    client = await gateway_of(request).optional_client()
    return await list_runs(settings_of(request), client, limit=limit, status=status)


@runs_router.post(
    "",
    response_model=RunStarted,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**_CONFLICT, **_INVALID, **_UNAVAILABLE},
)
async def post_run(request: Request, body: StartRunRequest, who: Operator) -> RunStarted:
    """Start a run; a worker on the pipeline's task queue executes it.

    A start from Toggl with the ``run_id`` of an existing run is 409 unless ``force``.
    """
    try:
        params = prepare_run(
            settings_of(request),
            start_date=body.start_date.isoformat(),
            end_date=body.end_date.isoformat(),
            users=",".join(body.users) if body.users else None,
            start_from=body.start_from,
            run_id=body.run_id,
            force=body.force,
            deliver=",".join(body.deliver),
        )
    except RunExistsError as exc:
        detail = (
            f'run {exc.run_id} already exists: send "force": true to overwrite it,'
            ' or "start_from": "fibery" to re-run only its Fibery stage'
        )
        raise HTTPException(status.HTTP_409_CONFLICT, detail) from None
    client = await gateway_of(request).client()
    handle = await start_run(client, params, settings_of(request).temporal.task_queue)
    logger.info("run %s started by %s", params.run_id, who.name)
    return RunStarted(run_id=params.run_id, workflow_id=handle.id)


@runs_router.get("/{run_id}", response_model=RunDetail, responses=_NOT_FOUND)
async def get_one_run(request: Request, run_id: RunId, _: Viewer) -> RunDetail:
    """A run's metadata, statistics, report paths and, while it runs, live progress."""
    client = await gateway_of(request).optional_client()
    return await get_run(settings_of(request), client, run_id)


@runs_router.post(
    "/{run_id}/cancel",
    response_model=CancelRequested,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**_NOT_FOUND, **_CONFLICT, **_UNAVAILABLE},
)
async def post_cancel(request: Request, run_id: RunId, who: Operator) -> CancelRequested:
    """Request cancellation; the run then records ``cancelled`` in its metadata."""
    client = await gateway_of(request).client()
    summary = await cancel_run(settings_of(request), client, run_id)
    logger.info("run %s cancelled by %s", run_id, who.name)
    return CancelRequested(run_id=run_id, workflow_id=summary.workflow_id)


@runs_router.get(
    "/{run_id}/reports/{path:path}",
    response_class=Response,
    responses={
        200: {"content": {"text/markdown": {}, "text/html": {}, "application/octet-stream": {}}},
        **_NOT_FOUND,
    },
)
async def get_report(request: Request, run_id: RunId, path: str, _: Viewer) -> Response:
    """A file under the run's ``reports/`` folder (paths as listed in ``reports``), from
    the local folder or the bucket. Anything outside it — ``..``, encoded or not, absolute
    paths, symlinks out — is 404."""
    report = await asyncio.to_thread(read_report, settings_of(request), run_id, path)
    return Response(report.content, media_type=report.media_type)


@schedules_router.get("", response_model=list[ScheduleSummary])
async def get_schedules(request: Request, _: Admin) -> list[ScheduleSummary]:
    """Every volt-agent schedule with its next and recent firings."""
    return await schedules.list_schedules(await gateway_of(request).client())


@schedules_router.post(
    "",
    response_model=ScheduleSummary,
    status_code=status.HTTP_201_CREATED,
    responses={**_CONFLICT, **_INVALID},
)
async def post_schedule(
    request: Request, body: CreateScheduleRequest, who: Admin
) -> ScheduleSummary:
    """Create a schedule; each firing resolves ``window`` to dates and gets its own run id."""
    created = await schedules.create_schedule(
        await gateway_of(request).client(),
        settings_of(request),
        name=body.name,
        cron=body.cron,
        window=body.window,
        users=body.users,
        timezone=body.timezone,
        paused=body.paused,
        deliver=list(body.deliver),
    )
    logger.info("schedule %s created by %s", body.name, who.name)
    return created


@schedules_router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=_NOT_FOUND)
async def delete_schedule(request: Request, name: ScheduleName, who: Admin) -> Response:
    """Delete a schedule; runs it already started go on."""
    await schedules.delete_schedule(await gateway_of(request).client(), name)
    logger.info("schedule %s deleted by %s", name, who.name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@schedules_router.post(
    "/{name}/trigger",
    response_model=Triggered,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_NOT_FOUND,
)
async def trigger_schedule(request: Request, name: ScheduleName, who: Admin) -> Triggered:
    """Fire a schedule now (skipped while its previous run is still going)."""
    await schedules.trigger_schedule(await gateway_of(request).client(), name)
    logger.info("schedule %s triggered by %s", name, who.name)
    return Triggered(name=name)
