"""The management API's app factory: ``create_app(settings)`` → FastAPI app.

Errors become HTTP answers here, and only here: unknown run/schedule/report → 404,
already running/ended or a schedule name in use → 409, other bad input → 422, Temporal
unreachable or refusing, or the run-folder bucket not answering → 503. Bodies are
``{"detail": "one line"}``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from volt_agent import __version__
from volt_agent.api.auth import TokenAuthenticator
from volt_agent.api.routes import health_router, runs_router, schedules_router
from volt_agent.api.temporal import TemporalGateway
from volt_agent.api.ui import install_ui
from volt_agent.config import Settings
from volt_agent.errors import ConfigError, UserInputError, VoltAgentError
from volt_agent.runs import RunNotFoundError, RunNotRunningError
from volt_agent.schedules.service import ScheduleExistsError, ScheduleNotFoundError
from volt_agent.storage.atomic import StorageUnavailableError

logger = logging.getLogger(__name__)

DESCRIPTION = """Start, watch and cancel volt-agent runs, read their reports, manage schedules.

Authenticate with `Authorization: Bearer <token>`. Roles: **viewer** reads runs and
reports; **operator** also starts and cancels runs; **admin** also manages schedules.
Missing or unknown token → 401, role too low → 403. `/health` and `/openapi.json` are open.
"""


def _status_of(exc: VoltAgentError) -> int:
    if isinstance(exc, RunNotFoundError | ScheduleNotFoundError):
        return 404
    if isinstance(exc, RunNotRunningError | ScheduleExistsError):
        return 409
    if isinstance(exc, UserInputError):
        return 422
    if isinstance(exc, ConfigError | StorageUnavailableError):
        return 503
    return 500


async def _volt_agent_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VoltAgentError)
    return JSONResponse({"detail": str(exc)}, status_code=_status_of(exc))


async def _already_started(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WorkflowAlreadyStartedError)
    return JSONResponse(
        {"detail": f"a run with workflow id {exc.workflow_id} is already running"},
        status_code=409,
    )


async def _rpc_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RPCError)
    if exc.status == RPCStatusCode.INVALID_ARGUMENT:
        return JSONResponse({"detail": f"refused by Temporal: {exc.message}"}, status_code=422)
    logger.warning("Temporal RPC failed: %s %s", exc.status.name, exc.message)
    return JSONResponse({"detail": f"Temporal did not answer ({exc.status.name})"}, status_code=503)


def create_app(settings: Settings, *, gateway: TemporalGateway | None = None) -> FastAPI:
    """The API for ``settings``; ``gateway`` defaults to a lazy connection from settings."""
    app = FastAPI(
        title="volt-agent management API",
        version=__version__,
        description=DESCRIPTION,
    )
    app.state.settings = settings
    app.state.gateway = gateway or TemporalGateway(settings)
    app.state.authenticator = TokenAuthenticator(settings.api.tokens)
    app.add_exception_handler(VoltAgentError, _volt_agent_error)
    app.add_exception_handler(WorkflowAlreadyStartedError, _already_started)
    app.add_exception_handler(RPCError, _rpc_error)
    app.include_router(health_router)
    app.include_router(runs_router)
    app.include_router(schedules_router)
    install_ui(app, settings)
    return app
