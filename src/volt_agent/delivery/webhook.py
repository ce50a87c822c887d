"""Slack / Mattermost incoming webhook: a short team summary with a link to the report.

Both accept ``{"text": ...}``; a bare URL on its own line is linked by both. The webhook URL
is a secret (it is the credential): it never appears in a message or a warning.
"""

from __future__ import annotations

import httpx

from volt_agent.config import Secrets, WebhookDeliverySettings
from volt_agent.domain.models import TogglAggregated, hours
from volt_agent.errors import ConfigError


class WebhookError(Exception):
    """A post the webhook did not accept; the message names no URL."""


def summary_text(aggregated: TogglAggregated, link: str) -> str:
    stats = aggregated.statistics
    period = f"{aggregated.start_date}..{aggregated.end_date}"
    return (
        f"Team report {period}: {len(aggregated.users)} people,"
        f" {hours(stats.total_seconds):.2f} h tracked,"
        f" {round(100 * stats.matched_share)}% linked to Fibery.\n{link}"
    )


def report_link(settings: WebhookDeliverySettings, run_id: str, location: str) -> str:
    return settings.report_url.replace("{run_id}", run_id) if settings.report_url else location


async def post_webhook(settings: WebhookDeliverySettings, secrets: Secrets, text: str) -> None:
    if secrets.webhook_url is None:
        raise ConfigError(
            "VOLT_AGENT_WEBHOOK_URL is not set: put the webhook URL in the environment"
        )
    url = secrets.webhook_url.get_secret_value()
    try:
        async with httpx.AsyncClient(timeout=settings.timeout_seconds) as client:
            response = await client.post(url, json={"text": text})
    except httpx.HTTPError as err:
        raise WebhookError(f"{type(err).__name__} posting to the webhook") from None
    if response.status_code >= 300:
        raise WebhookError(f"HTTP {response.status_code} from the webhook")
