"""The web page of the management API: runs, one run with live progress, reports, schedules.

Server-rendered HTML from jinja2 templates (autoescaped), no build step, no script and
nothing loaded from elsewhere: every page is sent with ``report.html``'s own
Content-Security-Policy (``CSP``), which forbids scripts. "Live" progress is therefore a
``<meta http-equiv="refresh">`` on the page of a run that is still going: each refresh
renders ``get_run`` again — the service behind ``GET /runs/{run_id}`` — and the refresh stops
once the run has ended.

Login takes one of the API's bearer tokens and keeps a signed session cookie
(``volt_agent.api.session``); roles are the API's: viewers read, operators also start and
cancel runs, admins also see schedules. Buttons a role cannot use are hidden and refused
server-side anyway (403 page). Forms that change something carry a CSRF token. Errors
(bad dates, a run that exists, Temporal down) are one line on the page, never a trace.
"""

from __future__ import annotations

import asyncio
import logging
import typing
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import RedirectResponse

from volt_agent.api.auth import TokenAuthenticator
from volt_agent.api.session import COOKIE_NAME, SessionSigner
from volt_agent.api.state import gateway_of, settings_of
from volt_agent.api.ui_base import (
    HEADERS,
    SERVICE_ERRORS,
    Admin,
    LoginRequired,
    Operator,
    Refused,
    Session,
    Viewer,
    checked_form,
    failure,
    first,
    login_required,
    page,
    read_form,
    redirect,
    refused,
    signer_of,
)
from volt_agent.api.ui_views import (
    UI_PREFIX,
    fmt_duration,
    last_week,
    ordered_reports,
    progress_view,
    run_id_of,
    run_row,
    run_url,
    safe_next,
    totals,
)
from volt_agent.api.ui_views import flat_statistics as flat
from volt_agent.config import Settings
from volt_agent.pipeline.service import prepare_run, start_run
from volt_agent.pipeline.types import DeliveryChannel
from volt_agent.runs import (
    cancel_run,
    get_run,
    list_runs,
    read_report,
)
from volt_agent.schedules import service as schedules
from volt_agent.storage.atomic import StorageError
from volt_agent.storage.backends import open_storage
from volt_agent.storage.run_folder import RunFolder
from volt_agent.storage.run_metadata import load_metadata

logger = logging.getLogger(__name__)
REFRESH_SECONDS = 3
LIST_LIMIT = 50
READ_CONCURRENCY = 8
CHANNELS: tuple[DeliveryChannel, ...] = typing.get_args(DeliveryChannel)

router = APIRouter(include_in_schema=False)


@router.get("/")
async def root() -> RedirectResponse:
    return redirect(UI_PREFIX)


@router.get(f"{UI_PREFIX}/login")
async def login_form(request: Request, next: str = UI_PREFIX) -> Response:
    if signer_of(request).verify(request.cookies.get(COOKIE_NAME)) is not None:
        return redirect(safe_next(next))
    return page("login.html.j2", None, next=safe_next(next), message=None)


@router.post(f"{UI_PREFIX}/login")
async def login(request: Request) -> Response:
    form = await read_form(request)
    target = safe_next(first(form, "next"))
    authenticator: TokenAuthenticator = request.app.state.authenticator
    principal = authenticator.authenticate(first(form, "token"))
    if principal is None:
        logger.warning("web page: refused an unknown token")
        message = "unknown token: use one of VOLT_AGENT_API_TOKENS"
        return page("login.html.j2", None, status_code=401, next=target, message=message)
    signer = signer_of(request)
    response = redirect(target)
    response.set_cookie(
        COOKIE_NAME,
        signer.issue(principal),
        max_age=signer.lifetime_seconds,
        path=UI_PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    logger.info("web page: %s logged in", principal.name)
    return response


@router.post(f"{UI_PREFIX}/logout")
async def logout(request: Request, session: Viewer) -> Response:
    await checked_form(request, session)
    response = redirect(f"{UI_PREFIX}/login")
    response.delete_cookie(COOKIE_NAME, path=UI_PREFIX, httponly=True, samesite="strict")
    return response


def _statistics(settings: Settings, run_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each run's statistics (the listing has none), ``READ_CONCURRENCY`` reads at a time."""
    storage = open_storage(settings)

    def one(run_id: str) -> dict[str, Any]:
        try:
            meta = load_metadata(RunFolder(storage, run_id))
        except StorageError:
            return {}
        return meta.statistics if meta else {}

    with ThreadPoolExecutor(READ_CONCURRENCY) as pool:
        return dict(zip(run_ids, pool.map(one, run_ids), strict=True))


@router.get(UI_PREFIX)
async def runs_page(request: Request, session: Viewer) -> Response:
    settings = settings_of(request)
    try:
        client = await gateway_of(request).optional_client()
        summaries = await list_runs(settings, client, limit=LIST_LIMIT)
        stats = await asyncio.to_thread(_statistics, settings, [s.run_id for s in summaries])
    except SERVICE_ERRORS as exc:
        status_code, message = failure(exc)
        return page("runs.html.j2", session, status_code=status_code, rows=[], message=message)
    rows = [run_row(s, stats.get(s.run_id, {})) for s in summaries]
    notice = None if client else "Temporal is not answering: statuses are as the run folders say"
    return page("runs.html.j2", session, rows=rows, message=None, notice=notice)


async def _run_page(
    request: Request,
    session: Session,
    run_id: str,
    *,
    status_code: int = 200,
    message: str | None = None,
) -> Response:
    try:
        client = await gateway_of(request).optional_client()
        run = await get_run(settings_of(request), client, run_id)
    except SERVICE_ERRORS as exc:
        code, text = failure(exc)
        return page("error.html.j2", session, status_code=code, message=text)
    running = run.status == "in_progress"
    return page(
        "run.html.j2",
        session,
        status_code=status_code,
        refresh=REFRESH_SECONDS if running else None,
        run=run,
        running=running,
        totals=totals(run.statistics),
        statistics=flat(run.statistics),
        reports=ordered_reports(run.reports),
        progress=progress_view(run.progress) if run.progress else None,
        duration=fmt_duration(run.duration_seconds),
        message=message,
        cancel_url=f"{run_url(run.run_id)}/cancel",
    )


@router.get(UI_PREFIX + "/runs/{run_id}")
async def run_page(request: Request, run_id: str, session: Viewer) -> Response:
    return await _run_page(request, session, run_id)


@router.post(UI_PREFIX + "/runs/{run_id}/cancel")
async def cancel(request: Request, run_id: str, session: Operator) -> Response:
    await checked_form(request, session)
    try:
        await cancel_run(settings_of(request), await gateway_of(request).client(), run_id)
    except SERVICE_ERRORS as exc:
        status_code, message = failure(exc)
        return await _run_page(request, session, run_id, status_code=status_code, message=message)
    logger.info("run %s cancelled by %s (web page)", run_id, session.principal.name)
    return redirect(run_url(run_id))


@router.get(UI_PREFIX + "/runs/{run_id}/reports/{path:path}")
async def report(request: Request, run_id: str, path: str, session: Viewer) -> Response:
    """A report file as ``GET /runs/{run_id}/reports/{path}`` serves it (same traversal
    checks), with the page's headers; Markdown is shown as text instead of downloaded."""
    try:
        found = await asyncio.to_thread(read_report, settings_of(request), run_id, path)
    except SERVICE_ERRORS as exc:
        status_code, message = failure(exc)
        return page("error.html.j2", session, status_code=status_code, message=message)
    media_type = found.media_type
    if media_type.startswith("text/markdown"):
        media_type = "text/plain; charset=utf-8"
    return Response(found.content, media_type=media_type, headers=HEADERS)


def _start_form(
    session: Session, values: dict[str, Any], message: str | None, code: int
) -> Response:
    return page(
        "start.html.j2",
        session,
        status_code=code,
        values=values,
        channels=CHANNELS,
        message=message,
    )


@router.get(UI_PREFIX + "/start")
async def start_form(session: Operator) -> Response:
    start, end = last_week(datetime.now(UTC).date())
    values = {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "users": "",
        "run_id": "",
        "start_from": "toggl",
        "force": False,
        "deliver": [],
    }
    return _start_form(session, values, None, 200)


@router.post(UI_PREFIX + "/start")
async def start(request: Request, session: Operator) -> Response:
    form = await checked_form(request, session)
    values: dict[str, Any] = {
        "start_date": first(form, "start_date"),
        "end_date": first(form, "end_date"),
        "users": first(form, "users"),
        "run_id": first(form, "run_id"),
        "start_from": "fibery" if first(form, "start_from") == "fibery" else "toggl",
        "force": first(form, "force") == "on",
        "deliver": [c for c in CHANNELS if c in form.get("deliver", [])],
    }
    settings = settings_of(request)
    try:
        params = await asyncio.to_thread(
            prepare_run,
            settings,
            start_date=values["start_date"],
            end_date=values["end_date"],
            users=values["users"] or None,
            start_from=values["start_from"],
            run_id=values["run_id"] or None,
            force=values["force"],
            deliver=",".join(values["deliver"]),
        )
        client = await gateway_of(request).client()
        await start_run(client, params, settings.temporal.task_queue)
    except SERVICE_ERRORS as exc:
        status_code, message = failure(exc)
        return _start_form(session, values, message, status_code)
    logger.info("run %s started by %s (web page)", params.run_id, session.principal.name)
    return redirect(run_url(params.run_id))


async def _schedules_page(
    request: Request, session: Session, *, status_code: int = 200, message: str | None = None
) -> Response:
    try:
        found = await schedules.list_schedules(await gateway_of(request).client())
    except SERVICE_ERRORS as exc:
        code, text = failure(exc)
        return page("schedules.html.j2", session, status_code=code, items=[], message=text)
    items = [
        (s, [(r, run_id_of(r.workflow_id)) for r in s.recent_runs], quote(s.name, safe=""))
        for s in found
    ]
    return page("schedules.html.j2", session, status_code=status_code, items=items, message=message)


@router.get(UI_PREFIX + "/schedules")
async def schedules_page(request: Request, session: Admin) -> Response:
    return await _schedules_page(request, session)


@router.post(UI_PREFIX + "/schedules/{name}/{action}")
async def schedule_action(request: Request, name: str, action: str, session: Admin) -> Response:
    """``trigger`` fires a schedule now; ``delete`` deletes it (its runs go on)."""
    await checked_form(request, session)
    actions = {"trigger": schedules.trigger_schedule, "delete": schedules.delete_schedule}
    if action not in actions:
        return page("error.html.j2", session, status_code=404, message=f"no action {action!r}")
    try:
        await actions[action](await gateway_of(request).client(), name)
    except SERVICE_ERRORS as exc:
        status_code, message = failure(exc)
        return await _schedules_page(request, session, status_code=status_code, message=message)
    logger.info("schedule %s: %s by %s (web page)", name, action, session.principal.name)
    return redirect(f"{UI_PREFIX}/schedules")


def install_ui(app: FastAPI, settings: Settings) -> None:
    """Add the web page to ``app`` (whose state holds settings, gateway and authenticator)."""
    app.state.session_signer = SessionSigner(settings.api.tokens)
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(Refused, refused)
    app.include_router(router)
