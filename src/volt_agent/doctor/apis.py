"""The doctor's checks of the Toggl API and the LLM endpoint.

Toggl costs at most ``TOGGL_REQUEST_BUDGET`` requests, in this order: ``/me`` (token),
``/me/workspaces`` (plan, retention), the workspace users (access, admin) and one page of
the detailed report (the Reports API as a run calls it). The quota check reads the headers
these answers already carried, so the last one, a workspace request, gives the budget a run
draws from. The LLM check costs one models list.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from datetime import UTC, date, datetime, timedelta

import openai
from pydantic import SecretStr

from volt_agent.config import LlmSettings, TogglSettings
from volt_agent.doctor.checks import Check, error, ok, skip, warning
from volt_agent.errors import ConfigError, VoltAgentError
from volt_agent.reporting.llm import LlmReportWriter
from volt_agent.reporting.llm_client import DEFAULT_BASE_URL, classify
from volt_agent.reporting.llm_egress import egress_notice, uses_llm
from volt_agent.sources.parsing import duration_text
from volt_agent.sources.toggl import TogglClient
from volt_agent.sources.toggl_rows import TogglWorkspace

TOGGL_REQUEST_BUDGET = 4
PROBE_DAYS = 7
"""The report probe asks for the last week: one page, as many rows as ``toggl.page_size``."""
LOW_QUOTA = 10
"""Fewer workspace requests left than this: a run may stop on the hourly quota. (The last
answer is a workspace request, so its headers give the workspace quota, not ``/me``'s.)"""
FREE_PLAN_QUOTA = 30

TOGGL_TOKEN = "Toggl token"  # noqa: S105  # a check name, not a secret
TOGGL_WORKSPACE = "Toggl workspace"
TOGGL_VISIBILITY = "Toggl visibility"
TOGGL_PLAN = "Toggl plan"
TOGGL_REPORTS = "Toggl reports"
TOGGL_QUOTA = "Toggl quota"
LLM = "LLM"

TOGGL_NAMES = (
    TOGGL_TOKEN,
    TOGGL_WORKSPACE,
    TOGGL_VISIBILITY,
    TOGGL_PLAN,
    TOGGL_REPORTS,
    TOGGL_QUOTA,
)


def skipped(names: tuple[str, ...], reason: str) -> list[Check]:
    return [skip(name, reason) for name in names]


async def check_toggl(client: TogglClient, settings: TogglSettings, today: date) -> list[Check]:
    """Token, workspace access, admin visibility, plan, the Reports API and the quota."""
    try:
        me = await client.me()
    except VoltAgentError as exc:
        return [error(TOGGL_TOKEN, str(exc)), *skipped(TOGGL_NAMES[1:], "needs a working token")]
    checks = [ok(TOGGL_TOKEN, f"accepted (Toggl user id {me.id})")]
    try:
        workspace_id = await client.workspace_id()
        info = await client.workspace_info(workspace_id)
        users = await client.workspace_users(workspace_id)
    except VoltAgentError as exc:
        checks += [
            error(TOGGL_WORKSPACE, str(exc)),
            *skipped(TOGGL_NAMES[2:-1], "needs access to the workspace"),
        ]
        return [*checks, quota_check(client)]
    inactive = sum(not user.active for user in users)
    checks.append(
        ok(
            TOGGL_WORKSPACE,
            f"workspace {workspace_id}: {len(users)} users"
            + (f" ({inactive} deactivated)" if inactive else ""),
        )
    )
    is_admin = await client.token_is_admin(workspace_id)
    if is_admin is None and info is not None:
        is_admin = info.admin
    checks.append(visibility_check(workspace_id, is_admin))
    checks.append(plan_check(workspace_id, info, today))
    checks.append(await reports_check(client, settings, today))
    return [*checks, quota_check(client)]


def visibility_check(workspace_id: int, is_admin: bool | None) -> Check:
    if is_admin:
        return ok(
            TOGGL_VISIBILITY, "the token's user is a workspace admin: sees everyone's entries"
        )
    if is_admin is None:
        return warning(
            TOGGL_VISIBILITY,
            f"Toggl did not say whether the token's user is an admin of workspace {workspace_id};"
            " a non-admin sees only its own entries: use a workspace admin's API token",
        )
    return warning(
        TOGGL_VISIBILITY,
        f"the token's user is not an admin of workspace {workspace_id}, so Toggl shows it only"
        " its own time entries and reports cover that one person: use a workspace admin's"
        " API token",
    )


def plan_check(workspace_id: int, info: TogglWorkspace | None, today: date) -> Check:
    if info is None:
        return warning(
            TOGGL_PLAN,
            f"workspace {workspace_id} is not among the token user's workspaces"
            " (/me/workspaces): check TOGGL_WORKSPACE_ID",
        )
    paid = info.premium or info.business_ws
    plan = "paid plan" if paid else "Free plan" if paid is False else "plan not stated"
    days = info.max_data_retention_days
    if days is None:
        return ok(TOGGL_PLAN, f"{plan}, no data retention limit")
    oldest = today - timedelta(days=days)
    return warning(
        TOGGL_PLAN,
        f"{plan} keeps {days} days of data: entries before {oldest.isoformat()} cannot be"
        " fetched, reports of older weeks come out short: run for recent dates or upgrade",
    )


async def reports_check(client: TogglClient, settings: TogglSettings, today: date) -> Check:
    """One page of the detailed report, with the run's page size and grouping."""
    start = today - timedelta(days=PROBE_DAYS - 1)
    pages = client.iter_time_entry_pages(start, today)
    try:
        page = await anext(pages, None)
    except VoltAgentError as exc:
        return error(TOGGL_REPORTS, str(exc))
    finally:
        if isinstance(pages, AsyncGenerator):
            await pages.aclose()
    if page is None:
        return ok(TOGGL_REPORTS, "the detailed report answers")
    more = " and more pages" if page.next_cursor is not None else ""
    return ok(
        TOGGL_REPORTS,
        f"the detailed report answers: {page.stats.entries_kept} entries on its first page"
        f" (last {PROBE_DAYS} days, page_size {settings.page_size}){more}",
    )


def quota_check(client: TogglClient) -> Check:
    """The hourly quota from the headers of the answers so far (no request of its own)."""
    stats = client.stats
    remaining, resets_in = stats.quota_remaining, stats.quota_resets_in
    if remaining is None:
        return ok(TOGGL_QUOTA, "the answers carried no X-Toggl-Quota-Remaining header")
    reset = f", resets in {duration_text(resets_in)}" if resets_in is not None else ""
    user_level = stats.by_endpoint["me"] + stats.by_endpoint["me_workspaces"]
    used = stats.total - user_level
    hint = (
        f"; at most {remaining + used} requests an hour: the Free plan's {FREE_PLAN_QUOTA}"
        if remaining + used <= FREE_PLAN_QUOTA
        else ""
    )
    if remaining < LOW_QUOTA:
        return warning(
            TOGGL_QUOTA,
            f"only {remaining} requests left this hour{reset}{hint}; a run needs a few plus one"
            " per report page: wait for the reset before running",
        )
    return ok(TOGGL_QUOTA, f"{remaining} requests left this hour{reset}{hint}")


ModelLister = Callable[[LlmSettings, SecretStr], openai.AsyncOpenAI]


def _openai_client(settings: LlmSettings, key: SecretStr) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key=key.get_secret_value(),
        base_url=settings.base_url or DEFAULT_BASE_URL,
        timeout=min(settings.timeout_seconds, 30.0),
        max_retries=0,
    )


async def check_llm(
    settings: LlmSettings,
    key: SecretStr | None,
    *,
    client_factory: ModelLister | None = None,
) -> Check:
    """The report writer the run would use (``uses_llm``: only ``llm.provider: openai``
    sends data to an LLM); for an LLM, its prompts, key and model."""
    if not uses_llm(settings):
        notice = egress_notice(settings, key)
        return ok(
            LLM,
            notice
            or f"llm.provider is {settings.provider}: reports use the built-in template writer",
        )
    if key is None or not key.get_secret_value():
        return error(
            LLM,
            "llm.provider is openai but OPENAI_API_KEY is not set: put it in the"
            " environment or .env (local servers such as Ollama accept any value)",
        )
    try:
        LlmReportWriter.create(settings, key)
    except ConfigError as exc:
        return error(LLM, str(exc))
    return await _models_check(settings, key, client_factory or _openai_client)


async def _models_check(settings: LlmSettings, key: SecretStr, factory: ModelLister) -> Check:
    """One models list: the key is accepted and ``llm.model`` is among the models."""
    base_url = settings.base_url or DEFAULT_BASE_URL
    try:
        async with factory(settings, key) as client:
            models = [model.id async for model in client.models.list()]
    except openai.NotFoundError:
        return ok(LLM, f"{base_url} lists no models (HTTP 404); key and model not checked")
    except openai.APIError as exc:
        return error(LLM, str(classify(exc, base_url)))
    if settings.model not in models:
        listed = ", ".join(sorted(models)[:5]) or "none"
        return warning(
            LLM,
            f"{base_url} does not list llm.model {settings.model!r} (it lists {listed}):"
            " check llm.model",
        )
    return ok(LLM, f"{base_url} accepts the key and serves {settings.model!r}")


def today_utc() -> date:
    return datetime.now(UTC).date()
