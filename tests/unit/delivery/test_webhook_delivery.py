"""Webhook delivery against a local HTTP receiver (a real server thread on loopback)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from volt_agent.config import DeliverySettings, Secrets, WebhookDeliverySettings
from volt_agent.delivery.ledger import DELIVERY_LEDGER, DeliveryLedger
from volt_agent.delivery.service import deliver_run
from volt_agent.domain.models import (
    AggregationStatistics,
    EnrichedData,
    TogglAggregated,
    UserAggregate,
)
from volt_agent.storage.run_folder import ENRICHED_DATA, RunFolder

RUN = "temporal-run-1"


class Receiver:
    def __init__(self) -> None:
        self.posts: list[tuple[str, str, Any]] = []
        self.status = 200


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.posts.append((self.path, self.headers["Content-Type"], json.loads(body)))
            self.send_response(state.status)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/hooks/s3cr3t-path"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def folder(tmp_path: Path) -> RunFolder:
    run = RunFolder(tmp_path / "runs", "run-7")
    person = UserAggregate(
        user_id=1,
        user_name="Ada",
        total_seconds=18000,
        matched_seconds=13500,
        unmatched_seconds=4500,
        entry_count=3,
    )
    aggregated = TogglAggregated(
        start_date=date(2026, 11, 2),
        end_date=date(2026, 11, 8),
        users=[person, person.model_copy(update={"user_id": 2, "user_name": "Bob"})],
        statistics=AggregationStatistics(total_seconds=36000, matched_seconds=27000),
    )
    run.save(ENRICHED_DATA, EnrichedData(aggregated=aggregated))
    return run


def settings(report_url: str = "https://volt.example/runs/{run_id}") -> DeliverySettings:
    return DeliverySettings(
        webhook=WebhookDeliverySettings(report_url=report_url, timeout_seconds=5)
    )


async def test_one_short_summary_with_a_link_and_never_twice(
    receiver: tuple[Receiver, str], folder: RunFolder
) -> None:
    state, url = receiver
    secrets = Secrets(webhook_url=SecretStr(url))
    first = await deliver_run(folder, ["webhook"], settings(), secrets, scope=RUN)
    again = await deliver_run(folder, ["webhook"], settings(), secrets, scope=RUN)

    assert (first.sent, first.warnings) == (1, [])
    assert (again.sent, again.skipped) == (0, 1)
    assert len(state.posts) == 1
    path, content_type, payload = state.posts[0]
    assert path == "/hooks/s3cr3t-path"
    assert content_type == "application/json"
    assert payload == {
        "text": "Team report 2026-11-02..2026-11-08: 2 people, 10.00 h tracked,"
        " 75% linked to Fibery.\nhttps://volt.example/runs/run-7"
    }
    ledger = folder.load(DELIVERY_LEDGER, DeliveryLedger)
    assert [m.key for m in ledger.sent] == ["webhook:team"]


async def test_without_a_report_url_the_link_is_the_report_location(
    receiver: tuple[Receiver, str], folder: RunFolder
) -> None:
    state, url = receiver
    secrets = Secrets(webhook_url=SecretStr(url))
    await deliver_run(folder, ["webhook"], settings(""), secrets, scope=RUN)
    assert state.posts[0][2]["text"].endswith("\n" + str(folder.path / "reports/report.html"))


async def test_a_refused_post_is_a_warning_without_the_url_and_is_retried_later(
    receiver: tuple[Receiver, str], folder: RunFolder
) -> None:
    state, url = receiver
    state.status = 500
    secrets = Secrets(webhook_url=SecretStr(url))
    failed = await deliver_run(folder, ["webhook"], settings(), secrets, scope=RUN)
    assert failed.warnings == ["delivery_failed: webhook: HTTP 500 from the webhook"]
    assert not folder.exists(DELIVERY_LEDGER)
    state.status = 200
    retried = await deliver_run(folder, ["webhook"], settings(), secrets, scope=RUN)
    assert retried.sent == 1
    assert len(state.posts) == 2


async def test_an_unset_or_unreachable_webhook_is_a_warning(folder: RunFolder) -> None:
    unset = await deliver_run(folder, ["webhook"], settings(), Secrets(), scope=RUN)
    assert unset.warnings == [
        "delivery_failed: webhook: VOLT_AGENT_WEBHOOK_URL is not set:"
        " put the webhook URL in the environment"
    ]
    closed = Secrets(webhook_url=SecretStr("http://127.0.0.1:9/hooks/s3cr3t-path"))
    down = await deliver_run(folder, ["webhook"], settings(), closed, scope=RUN)
    assert len(down.warnings) == 1
    assert down.warnings[0].startswith("delivery_failed: webhook: ConnectError")
    assert "s3cr3t" not in down.warnings[0]
