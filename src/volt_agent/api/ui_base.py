"""What every page of the web page shares: headers, templates, sessions, forms, errors.

See ``volt_agent.api.ui`` for the pages and ``volt_agent.api.session`` for the cookie.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from volt_agent.api.auth import ROLE_RANK, Principal
from volt_agent.api.session import COOKIE_NAME, SessionSigner
from volt_agent.api.ui_views import UI_PREFIX, fmt_share, fmt_time, report_url
from volt_agent.config import ApiRole
from volt_agent.errors import ConfigError, UserInputError, VoltAgentError
from volt_agent.pipeline.service import RunExistsError
from volt_agent.runs import RunNotFoundError, RunNotRunningError
from volt_agent.schedules.service import ScheduleExistsError, ScheduleNotFoundError
from volt_agent.storage.atomic import StorageUnavailableError

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""Exactly ``report.html``'s policy (its ``<meta>``); a unit test keeps the two equal."""
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
MAX_FORM_BYTES = 16_384

_templates = Environment(
    loader=PackageLoader("volt_agent.api", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.globals.update(fmt_share=fmt_share, fmt_time=fmt_time, report_url=report_url)


class LoginRequired(Exception):  # noqa: N818 - a redirect, not an error
    """No valid session: the page redirects to the login form."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


class Refused(Exception):  # noqa: N818 - rendered as a 403 page
    """A valid session whose role, or form, does not allow the request."""


@dataclass(frozen=True)
class Session:
    principal: Principal
    cookie: str
    csrf: str

    def can(self, role: ApiRole) -> bool:
        return ROLE_RANK[self.principal.role] >= ROLE_RANK[role]


def signer_of(request: Request) -> SessionSigner:
    signer: SessionSigner = request.app.state.session_signer
    return signer


def ui_user(role: ApiRole) -> Callable[[Request], Awaitable[Session]]:
    """A dependency admitting sessions of ``role`` or higher."""

    async def dependency(request: Request) -> Session:
        cookie = request.cookies.get(COOKIE_NAME)
        principal = signer_of(request).verify(cookie)
        if principal is None or cookie is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target if request.method == "GET" else UI_PREFIX)
        session = Session(principal, cookie, signer_of(request).csrf_token(cookie))
        if not session.can(role):
            raise Refused(f"{principal.name} has role {principal.role}; this needs {role}")
        return session

    return dependency


Viewer = Annotated[Session, Depends(ui_user("viewer"))]
Operator = Annotated[Session, Depends(ui_user("operator"))]
Admin = Annotated[Session, Depends(ui_user("admin"))]


def page(
    template: str,
    session: Session | None,
    *,
    status_code: int = 200,
    refresh: int | None = None,
    **context: Any,
) -> HTMLResponse:
    html = _templates.get_template(template).render(
        session=session, csp=CSP, refresh=refresh, ui=UI_PREFIX, **context
    )
    return HTMLResponse(html, status_code=status_code, headers=HEADERS)


def redirect(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303, headers=HEADERS)


_STATUS_OF: tuple[tuple[type[Exception] | tuple[type[Exception], ...], int], ...] = (
    ((RunNotFoundError, ScheduleNotFoundError), 404),
    ((RunNotRunningError, ScheduleExistsError, RunExistsError), 409),
    (UserInputError, 422),
    ((ConfigError, StorageUnavailableError), 503),
)
"""As the JSON API answers (``api.app``): the first matching row wins."""


def failure(exc: Exception) -> tuple[int, str]:
    """The status and one-line message of an error the service functions raise."""
    if isinstance(exc, RPCError):
        if exc.status == RPCStatusCode.INVALID_ARGUMENT:
            return 422, f"refused by Temporal: {exc.message}"
        return 503, f"Temporal did not answer ({exc.status.name})"
    if isinstance(exc, WorkflowAlreadyStartedError):
        return 409, f"a run with workflow id {exc.workflow_id} is already running"
    status_code = next((code for kinds, code in _STATUS_OF if isinstance(exc, kinds)), 500)
    return status_code, str(exc)


SERVICE_ERRORS = (VoltAgentError, RPCError, WorkflowAlreadyStartedError)


async def read_form(request: Request) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body (small; no multipart is needed)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Refused("the form is too large")
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        raise Refused("the form could not be read") from None


async def checked_form(request: Request, session: Session) -> dict[str, list[str]]:
    """The form, after its CSRF token matched this session's."""
    form = await read_form(request)
    if not signer_of(request).check_csrf(session.cookie, first(form, "csrf")):
        raise Refused("the form has expired or comes from another page: reload and try again")
    return form


def first(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name)
    return values[0].strip() if values else ""


async def login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return redirect(f"{UI_PREFIX}/login?next={quote(exc.target, safe='')}")


async def refused(request: Request, exc: Exception) -> Response:
    principal = signer_of(request).verify(request.cookies.get(COOKIE_NAME))
    cookie = request.cookies.get(COOKIE_NAME, "")
    session = None
    if principal is not None:
        session = Session(principal, cookie, signer_of(request).csrf_token(cookie))
    return page("error.html.j2", session, status_code=403, message=str(exc))
