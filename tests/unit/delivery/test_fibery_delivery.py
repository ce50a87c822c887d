"""Fibery delivery against the Fibery simulator (in process), which validates every write."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr, ValidationError

from volt_agent.config import (
    DeliverySettings,
    FiberyDeliverySettings,
    FiberySettings,
    HttpSettings,
    Secrets,
)
from volt_agent.delivery import fibery as fibery_delivery
from volt_agent.delivery.fibery import FIBERY_KEY, report_id
from volt_agent.delivery.ledger import DELIVERY_LEDGER, DeliveryLedger
from volt_agent.delivery.service import deliver_run
from volt_agent.domain.models import EnrichedData, TogglAggregated
from volt_agent.errors import ConfigError, RetryableSourceError
from volt_agent.sandbox import (
    FiberySimulatorOptions,
    WorkspaceSpec,
    create_fibery_app,
    generate_workspace,
)
from volt_agent.sandbox._fibery_schema import REPORT_TYPE
from volt_agent.sandbox.fibery_sim import (
    DOCUMENTS_WRITTEN,
    ENTITY_CREATE,
    CommandFailureMode,
    fibery_writes,
)
from volt_agent.sources.fibery import FiberyClient
from volt_agent.storage.run_folder import ENRICHED_DATA, TEAM_SUMMARY, RunFolder

RUN = "temporal-run-1"
TEAM = "# Team summary\n\n| Person | Hours |\n|---|---|\n| Ada | 5.00 |\n"
TOKEN = "fibery-sandbox-token"
WORKSPACE = generate_workspace(WorkspaceSpec(users=2, days=2))


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture
def folder(tmp_path: Path) -> RunFolder:
    run = RunFolder(tmp_path / "runs", "run-9")
    aggregated = TogglAggregated(start_date=date(2026, 11, 16), end_date=date(2026, 11, 22))
    run.save(ENRICHED_DATA, EnrichedData(aggregated=aggregated))
    run.save_text(TEAM_SUMMARY, TEAM)
    return run


class LoseFirstCreateAnswer(httpx.AsyncBaseTransport):
    """Forwards to the app; the first request with a create is served, then answered 503 (the
    entity exists, the client never learns it)."""

    def __init__(self, app: FastAPI) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.lost = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not self.lost and b"fibery.entity/create" in request.content:
            self.lost = True
            await response.aread()
            return httpx.Response(503, json={"message": "upstream timed out"})
        return response


@pytest.fixture
async def sim() -> AsyncIterator[tuple[FastAPI, Callable[[], FiberyClient]]]:
    app = create_fibery_app(WORKSPACE)
    async with client_for(app) as client:
        yield app, lambda: client


def client_for(app: FastAPI, transport: httpx.AsyncBaseTransport | None = None) -> FiberyClient:
    return FiberyClient.create(
        FiberySettings(base_url="http://fibery.test", requests_per_second=1000),
        HttpSettings(backoff_initial_seconds=0, max_retries=2),
        SecretStr(TOKEN),
        transport or httpx.ASGITransport(app=app),
        sleep=no_sleep,
    )


def settings(**fibery: str) -> DeliverySettings:
    return DeliverySettings(fibery=FiberyDeliverySettings(**fibery))


def document_of(app: FastAPI, entity: dict[str, object]) -> str:
    summary = entity["Reports/Summary"]
    assert isinstance(summary, dict)
    writes = fibery_writes(app)
    secret = summary["Collaboration~Documents/secret"]
    return writes.contents[secret]


async def test_one_report_entity_with_the_summary_and_never_twice(
    sim: tuple[FastAPI, Callable[[], FiberyClient]], folder: RunFolder
) -> None:
    app, fibery = sim
    first = await deliver_run(folder, ["fibery"], settings(), Secrets(), scope=RUN, fibery=fibery)
    again = await deliver_run(folder, ["fibery"], settings(), Secrets(), scope=RUN, fibery=fibery)

    assert (first.sent, first.skipped, first.warnings) == (1, 0, [])
    assert (again.sent, again.skipped, again.warnings) == (0, 1, [])
    [entity] = fibery_writes(app).entities(REPORT_TYPE)
    assert entity["fibery/id"] == report_id("run-9", RUN)
    assert entity["Reports/Name"] == "Team report 2026-11-16..2026-11-22"
    assert entity["Reports/Period"] == "2026-11-16..2026-11-22"
    assert document_of(app, entity) == TEAM
    ledger = folder.load(DELIVERY_LEDGER, DeliveryLedger)
    [sent] = ledger.sent
    assert (sent.key, sent.scope) == (FIBERY_KEY, RUN)
    assert sent.recipients == [f"{REPORT_TYPE}#1"]


async def test_a_later_execution_of_the_run_writes_a_new_report(
    sim: tuple[FastAPI, Callable[[], FiberyClient]], folder: RunFolder
) -> None:
    app, fibery = sim
    await deliver_run(folder, ["fibery"], settings(), Secrets(), scope=RUN, fibery=fibery)
    rerun = await deliver_run(
        folder, ["fibery"], settings(), Secrets(), scope="temporal-run-2", fibery=fibery
    )
    assert rerun.sent == 1
    ids = [e["fibery/id"] for e in fibery_writes(app).entities(REPORT_TYPE)]
    assert ids == [report_id("run-9", RUN), report_id("run-9", "temporal-run-2")]


async def test_an_attempt_that_died_after_the_create_is_finished_without_a_second_entity(
    sim: tuple[FastAPI, Callable[[], FiberyClient]],
    folder: RunFolder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, fibery = sim

    def died(*_: object) -> None:
        raise RuntimeError("worker lost before the ledger write")

    with monkeypatch.context() as patch:
        patch.setattr(fibery_delivery, "record_sent", died)
        with pytest.raises(RuntimeError):
            await deliver_run(folder, ["fibery"], settings(), Secrets(), scope=RUN, fibery=fibery)
    assert not folder.exists(DELIVERY_LEDGER)
    stats = app.state.stats.snapshot()
    retried = await deliver_run(folder, ["fibery"], settings(), Secrets(), scope=RUN, fibery=fibery)

    assert (retried.sent, retried.warnings) == (1, [])
    [entity] = fibery_writes(app).entities(REPORT_TYPE)
    assert document_of(app, entity) == TEAM
    after = app.state.stats.snapshot()
    assert after[ENTITY_CREATE] == stats[ENTITY_CREATE] == 1
    assert after[DOCUMENTS_WRITTEN] == stats[DOCUMENTS_WRITTEN] + 1
    assert [m.key for m in folder.load(DELIVERY_LEDGER, DeliveryLedger).sent] == [FIBERY_KEY]


async def test_a_failed_document_write_is_a_warning_and_the_retry_reuses_the_entity(
    sim: tuple[FastAPI, Callable[[], FiberyClient]],
    folder: RunFolder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, fibery = sim

    async def unavailable(*_: object) -> None:
        raise RetryableSourceError("Fibery", "documents failed after 3 attempts (HTTP 503)")

    with monkeypatch.context() as patch:
        patch.setattr(FiberyClient, "write_document", unavailable)
        failed = await deliver_run(
            folder, ["fibery"], settings(), Secrets(), scope=RUN, fibery=fibery
        )
    assert failed.warnings == [
        "delivery_failed: fibery: Fibery: documents failed after 3 attempts (HTTP 503)"
    ]
    retried = await deliver_run(folder, ["fibery"], settings(), Secrets(), scope=RUN, fibery=fibery)
    assert retried.sent == 1
    [entity] = fibery_writes(app).entities(REPORT_TYPE)
    assert document_of(app, entity) == TEAM


@pytest.mark.parametrize("mode", ["per_command", "batch_4xx"])
async def test_a_create_whose_answer_was_lost_is_not_made_twice(
    folder: RunFolder, mode: CommandFailureMode
) -> None:
    app = create_fibery_app(WORKSPACE, FiberySimulatorOptions(command_failure_mode=mode))
    transport = LoseFirstCreateAnswer(app)
    async with client_for(app, transport) as client:
        outcome = await deliver_run(
            folder, ["fibery"], settings(), Secrets(), scope=RUN, fibery=lambda: client
        )
    assert transport.lost
    assert (outcome.sent, outcome.warnings) == (1, [])
    assert app.state.stats.snapshot()[ENTITY_CREATE] == 2  # the retried request was refused
    [entity] = fibery_writes(app).entities(REPORT_TYPE)
    assert document_of(app, entity) == TEAM


@pytest.mark.parametrize("mode", ["per_command", "batch_4xx"])
@pytest.mark.parametrize(
    ("configured", "says"),
    [
        ({"database": "Reports/Daily Report"}, "Reports/Daily Report database was not found"),
        ({"document_field": "Reports/Body"}, '"Reports/Body" field was not found'),
        ({"name_field": "Reports/Title"}, '"Reports/Title" field was not found'),
        ({"period_field": "Reports/Summary"}, "rich-text field"),
    ],
)
async def test_a_database_or_field_the_workspace_lacks_is_a_warning(
    folder: RunFolder, mode: CommandFailureMode, configured: dict[str, str], says: str
) -> None:
    app = create_fibery_app(WORKSPACE, FiberySimulatorOptions(command_failure_mode=mode))
    async with client_for(app) as client:
        outcome = await deliver_run(
            folder,
            ["fibery"],
            settings(**configured),
            Secrets(),
            scope=RUN,
            fibery=lambda: client,
        )
    assert outcome.sent == 0
    [warning] = outcome.warnings
    assert warning.startswith("delivery_failed: fibery: Fibery: ")
    assert says in warning
    assert warning.endswith("; check delivery.fibery")
    assert "\n" not in warning
    assert fibery_writes(app).created == []
    assert not folder.exists(DELIVERY_LEDGER)


async def test_no_fibery_client_is_a_warning(folder: RunFolder) -> None:
    def no_token() -> FiberyClient:
        raise ConfigError("FIBERY_API_TOKEN is not set: put it in the environment or .env")

    unset = await deliver_run(folder, ["fibery"], settings(), Secrets(), scope=RUN)
    missing = await deliver_run(
        folder, ["fibery"], settings(), Secrets(), scope=RUN, fibery=no_token
    )
    assert unset.warnings == [
        "delivery_failed: fibery: fibery.base_url is not set: set FIBERY_BASE_URL"
    ]
    assert missing.warnings == [
        "delivery_failed: fibery: FIBERY_API_TOKEN is not set: put it in the environment or .env"
    ]


def test_settings_name_a_database_and_fields() -> None:
    assert FiberyDeliverySettings(period_field="").period_field == ""
    with pytest.raises(ValidationError, match="must look like 'Space/Type'"):
        FiberyDeliverySettings(database="Reports")
    with pytest.raises(ValidationError, match="'Summary' must be a Fibery field name"):
        FiberyDeliverySettings(document_field="Summary")
    assert json.loads(FiberyDeliverySettings().model_dump_json())["database"] == REPORT_TYPE
