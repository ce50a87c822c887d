"""A run that opted into webhook delivery posts one short summary to a real local HTTP
receiver; a retried delivery of the same execution posts nothing more."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.client import Client

from tests.integration.pipeline_env import pipeline_env
from volt_agent.config import Secrets
from volt_agent.delivery.ledger import DELIVERY_LEDGER, DeliveryLedger
from volt_agent.delivery.service import WEBHOOK_KEY, deliver_run
from volt_agent.sandbox import WorkspaceSpec, generate_workspace

pytestmark = pytest.mark.integration


@pytest.fixture
def receiver() -> Iterator[tuple[list[Any], str]]:
    posts: list[Any] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            posts.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield posts, f"http://127.0.0.1:{server.server_address[1]}/hooks/secret-part"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.timeout(90)
async def test_a_run_posts_one_summary_and_a_retry_posts_none(
    temporal_client: Client, tmp_path: Path, receiver: tuple[list[Any], str]
) -> None:
    posts, url = receiver
    ws = generate_workspace(WorkspaceSpec(users=4, days=7))
    report_url = {"webhook": {"report_url": "https://volt.example/ui/runs/{run_id}"}}
    async with pipeline_env(temporal_client, tmp_path, ws=ws, delivery=report_url) as env:
        secrets = Secrets(
            toggl_api_token=SecretStr(env.sims.toggl.token),
            fibery_api_token=SecretStr(env.sims.fibery.token),
            webhook_url=SecretStr(url),
        )
        env.activities._secrets = secrets  # the worker's environment has the webhook URL
        folder, meta = await env.run(deliver="webhook")
        [sent] = folder.load(DELIVERY_LEDGER, DeliveryLedger).sent
        retried = await deliver_run(
            folder, ["webhook"], env.settings.delivery, secrets, scope=sent.scope
        )
    assert meta.status == "completed", meta.error
    assert not [w for w in meta.warnings if w.startswith("delivery_failed")], meta.warnings
    assert sent.key == WEBHOOK_KEY
    assert (retried.sent, retried.skipped) == (0, 1)
    assert len(posts) == 1
    assert list(posts[0]) == ["text"]
    text = posts[0]["text"]
    period = f"{meta.parameters['start_date']}..{meta.parameters['end_date']}"
    assert text.startswith(f"Team report {period}: ")
    assert f"{meta.statistics['aggregation']['users']} people" in text
    assert text.endswith(f"\nhttps://volt.example/ui/runs/{folder.run_id}")
    assert "secret-part" not in text
