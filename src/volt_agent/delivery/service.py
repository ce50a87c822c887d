"""Deliver a finished run's reports on the channels it opted into; never fails the run.

Each message has a key; ``delivery.json`` (``delivery.ledger``) records the keys the server
accepted, so a retried delivery sends only what is not recorded yet.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from volt_agent.config import DeliverySettings, Secrets
from volt_agent.delivery.email import Outgoing, SmtpSender, check_email_settings
from volt_agent.delivery.fibery import deliver_fibery
from volt_agent.delivery.ledger import SentMessage, load_ledger, record_sent
from volt_agent.delivery.outcome import DELIVERY_FAILED, DeliveryOutcome
from volt_agent.delivery.webhook import WebhookError, post_webhook, report_link, summary_text
from volt_agent.domain.models import EnrichedData
from volt_agent.errors import ConfigError
from volt_agent.reporting.html import REPORT_HTML
from volt_agent.sources.fibery import FiberyClient
from volt_agent.storage.run_folder import (
    ENRICHED_DATA,
    TEAM_SUMMARY,
    RunFolder,
    user_slug,
)

WEBHOOK_KEY = "webhook:team"


def email_messages(folder: RunFolder, settings: DeliverySettings) -> list[Outgoing]:
    """The team summary to the team list, and each person's report to their Toggl email."""
    email = settings.email
    data = folder.load(ENRICHED_DATA, EnrichedData)
    period = f"{data.aggregated.start_date}..{data.aggregated.end_date}"
    messages = []
    if email.team_recipients:
        messages.append(
            Outgoing(
                key="email:team",
                recipients=list(email.team_recipients),
                subject=f"Team report {period}",
                markdown=folder.read_bytes(TEAM_SUMMARY).decode("utf-8"),
            )
        )
    if email.person_reports:
        for user in data.aggregated.users:
            path = folder.individual_report(user_slug(user.user_name, user.user_id))
            if not user.email or not folder.exists(path):
                continue
            messages.append(
                Outgoing(
                    key=f"email:person:{user.user_id}",
                    recipients=[user.email],
                    subject=f"Your report {period}",
                    markdown=folder.read_bytes(path).decode("utf-8"),
                )
            )
    return messages


def deliver_email(
    folder: RunFolder,
    settings: DeliverySettings,
    secrets: Secrets,
    scope: str,
    context: ssl.SSLContext | None = None,
) -> DeliveryOutcome:
    """Blocking: one SMTP session; a failure ends the channel with one warning."""
    outcome = DeliveryOutcome()
    ledger = load_ledger(folder)
    try:
        check_email_settings(settings.email)
        pending = []
        for message in email_messages(folder, settings):
            if ledger.has(message.key, scope):
                outcome.skipped += 1
            else:
                pending.append(message)
        if not pending:
            return outcome
        with SmtpSender(settings.email, secrets, context) as sender:
            for message in pending:
                sender.send(message)
                record_sent(
                    folder,
                    ledger,
                    SentMessage(
                        key=message.key,
                        scope=scope,
                        recipients=message.recipients,
                        subject=message.subject,
                        at=datetime.now(UTC).isoformat(),
                    ),
                )
                outcome.sent += 1
    except (ConfigError, OSError, smtplib.SMTPException) as err:
        reason = str(err) or type(err).__name__
        outcome.warnings.append(f"{DELIVERY_FAILED}: email: {reason}")
    return outcome


async def deliver_run(
    folder: RunFolder,
    channels: Sequence[str],
    settings: DeliverySettings,
    secrets: Secrets,
    *,
    scope: str,
    context: ssl.SSLContext | None = None,
    fibery: Callable[[], FiberyClient] | None = None,
) -> DeliveryOutcome:
    """``scope``: the delivering workflow execution (``delivery.json`` entries are skipped
    only within it); ``context``: the TLS context for STARTTLS (tests trust their own);
    ``fibery``: gives the worker's Fibery client (its rate limiter) for the Fibery channel."""
    outcome = DeliveryOutcome()
    if "email" in channels:
        email = await asyncio.to_thread(deliver_email, folder, settings, secrets, scope, context)
        outcome.sent += email.sent
        outcome.skipped += email.skipped
        outcome.warnings.extend(email.warnings)
    if "webhook" in channels:
        webhook = await deliver_webhook(folder, settings, secrets, scope)
        outcome.sent += webhook.sent
        outcome.skipped += webhook.skipped
        outcome.warnings.extend(webhook.warnings)
    if "fibery" in channels:
        outcome.add(await deliver_fibery(folder, settings.fibery, fibery, scope))
    return outcome


async def deliver_webhook(
    folder: RunFolder, settings: DeliverySettings, secrets: Secrets, scope: str
) -> DeliveryOutcome:
    """One post of the team summary with a link; recorded as ``webhook:team``."""
    outcome = DeliveryOutcome()
    ledger = await asyncio.to_thread(load_ledger, folder)
    if ledger.has(WEBHOOK_KEY, scope):
        outcome.skipped += 1
        return outcome
    try:
        data = await asyncio.to_thread(folder.load, ENRICHED_DATA, EnrichedData)
        link = report_link(settings.webhook, folder.run_id, folder.location(REPORT_HTML))
        await post_webhook(settings.webhook, secrets, summary_text(data.aggregated, link))
    except (ConfigError, WebhookError) as err:
        outcome.warnings.append(f"{DELIVERY_FAILED}: webhook: {err}")
        return outcome
    sent = SentMessage(key=WEBHOOK_KEY, scope=scope, at=datetime.now(UTC).isoformat())
    await asyncio.to_thread(record_sent, folder, ledger, sent)
    outcome.sent += 1
    return outcome
