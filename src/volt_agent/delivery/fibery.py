"""Fibery delivery: the team summary written back as one entity of ``delivery.fibery.database``,
titled ``Team report <start>..<end>``, with ``reports/team_summary.md`` in its rich-text field.

Idempotency. Fibery's own clients choose the ``fibery/id`` of an entity they create
(``sources.fibery_write``), so the report's id is chosen here: a UUID5 of the run id and the
delivering workflow execution (``scope``) — the same for every attempt of one delivery, new
for a later re-run of the run (which delivers again, as email does). Each attempt first looks
that id up and creates the entity only when it is absent, so an attempt that died after the
create (before the document write or the ``delivery.json`` record) is finished by the next
one without a second entity; a create Fibery refuses (say, the id exists because an answer
was lost and the request retried) is looked up once more before it counts as a failure. The
document write replaces the content (``create-or-update-documents``), so repeating it writes
the same text. ``fibery:team`` in ``delivery.json`` then makes later attempts skip the channel
without a request.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from volt_agent.config import FiberyDeliverySettings
from volt_agent.delivery.ledger import SentMessage, load_ledger, record_sent
from volt_agent.delivery.outcome import DELIVERY_FAILED, DeliveryOutcome
from volt_agent.domain.models import EnrichedData
from volt_agent.errors import BadRequestError, ConfigError, ResponseFormatError, VoltAgentError
from volt_agent.sources.fibery import FIBERY, FiberyClient
from volt_agent.sources.fibery_write import SECRET_FIELD, create_entity, find_by_id
from volt_agent.storage.run_folder import ENRICHED_DATA, TEAM_SUMMARY, RunFolder

FIBERY_KEY = "fibery:team"
_REPORT_IDS = uuid.UUID("6a0e3d1c-95b4-4f0a-8c2e-7d41b9f5a623")


@dataclass(frozen=True)
class TeamReport:
    fibery_id: str
    name: str
    period: str
    markdown: str


def report_id(run_id: str, scope: str) -> str:
    """The ``fibery/id`` of a run's report entity for one delivering execution."""
    return str(uuid.uuid5(_REPORT_IDS, f"{run_id}/{scope}/{FIBERY_KEY}"))


def team_report(folder: RunFolder, scope: str) -> TeamReport:
    """Blocking: the report entity's name, period and document from the run folder."""
    data = folder.load(ENRICHED_DATA, EnrichedData)
    period = f"{data.aggregated.start_date}..{data.aggregated.end_date}"
    return TeamReport(
        fibery_id=report_id(folder.run_id, scope),
        name=f"Team report {period}",
        period=period,
        markdown=folder.read_bytes(TEAM_SUMMARY).decode("utf-8"),
    )


async def write_team_report(
    client: FiberyClient, settings: FiberyDeliverySettings, report: TeamReport
) -> str:
    """Find or create the report entity, then write its document; its public id."""
    database = settings.database
    select = {
        "id": "fibery/id",
        "public_id": "fibery/public-id",
        "secret": [settings.document_field, SECRET_FIELD],
    }
    row = await find_by_id(client, database, report.fibery_id, select)
    if row is None:
        entity: dict[str, Any] = {"fibery/id": report.fibery_id, settings.name_field: report.name}
        if settings.period_field:
            entity[settings.period_field] = report.period
        try:
            row = await create_entity(client, database, entity, select)
        except BadRequestError:
            row = await find_by_id(client, database, report.fibery_id, select)
            if row is None:
                raise
    secret = row.get("secret")
    if not isinstance(secret, str) or not secret:
        raise ResponseFormatError(
            FIBERY, f"the {database} entity has no document in {settings.document_field}"
        )
    await client.write_document(secret, report.markdown)
    return str(row.get("public_id") or "")


async def deliver_fibery(
    folder: RunFolder,
    settings: FiberyDeliverySettings,
    fibery: Callable[[], FiberyClient] | None,
    scope: str,
) -> DeliveryOutcome:
    """One report entity per delivering execution, recorded as ``fibery:team``; a failure is
    one ``delivery_failed: fibery: ...`` warning."""
    outcome = DeliveryOutcome()
    ledger = await asyncio.to_thread(load_ledger, folder)
    if ledger.has(FIBERY_KEY, scope):
        outcome.skipped += 1
        return outcome
    try:
        if fibery is None:
            raise ConfigError("fibery.base_url is not set: set FIBERY_BASE_URL")
        client = fibery()
        report = await asyncio.to_thread(team_report, folder, scope)
        public_id = await write_team_report(client, settings, report)
    except BadRequestError as err:
        outcome.warnings.append(f"{DELIVERY_FAILED}: fibery: {err}; check delivery.fibery")
        return outcome
    except VoltAgentError as err:
        outcome.warnings.append(f"{DELIVERY_FAILED}: fibery: {err}")
        return outcome
    sent = SentMessage(
        key=FIBERY_KEY,
        scope=scope,
        recipients=[f"{settings.database}#{public_id}" if public_id else settings.database],
        subject=report.name,
        at=datetime.now(UTC).isoformat(),
    )
    await asyncio.to_thread(record_sent, folder, ledger, sent)
    outcome.sent += 1
    return outcome
