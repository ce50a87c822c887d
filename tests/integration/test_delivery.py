"""A run that opted into email delivery ends with ``deliver_reports`` (real SMTP server)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import Client

from tests.integration.pipeline_env import pipeline_env
from tests.smtp_server import Inbox, free_port, smtp_server
from volt_agent.delivery.ledger import DELIVERY_LEDGER, DeliveryLedger
from volt_agent.errors import ConfigError
from volt_agent.pipeline import activities
from volt_agent.sandbox import WorkspaceSpec, generate_workspace
from volt_agent.schedules import service as schedules
from volt_agent.schedules.windows import window_dates
from volt_agent.schedules.workflow import ScheduledPipeline
from volt_agent.storage.run_folder import TEAM_SUMMARY, RunFolder


def email(port: int) -> dict[str, object]:
    return {
        "email": {
            "host": "127.0.0.1",
            "port": port,
            "starttls": False,
            "sender": "volt@example.test",
            "team_recipients": ["lead@example.test"],
            "person_reports": True,
            "timeout_seconds": 5,
        }
    }


@pytest.mark.timeout(90)
async def test_an_opted_in_run_mails_the_team_and_each_person(
    temporal_client: Client, tmp_path: Path
) -> None:
    inbox = Inbox()
    with smtp_server(inbox, None) as port:
        async with pipeline_env(temporal_client, tmp_path, delivery=email(port)) as env:
            folder, meta = await env.run(deliver="email")
            _, plain = await env.run(start_from="fibery", run_id=folder.run_id)
    assert meta.status == "completed", meta.error
    assert not [w for w in meta.warnings if w.startswith("delivery_failed")], meta.warnings
    team = [r for r in inbox.received if r.recipients == ["lead@example.test"]]
    assert len(team) == 1
    body = team[0].message.get_body(("plain",))
    assert body is not None
    summary = folder.read_bytes(TEAM_SUMMARY).decode()
    assert body.get_content().replace("\r\n", "\n") == summary
    emails = {u.email for u in env.workspace.toggl_users if u.email}
    people = [r.recipients[0] for r in inbox.received if r.recipients != ["lead@example.test"]]
    assert people
    assert set(people) <= emails
    assert len(people) == len(set(people))
    ledger = folder.load(DELIVERY_LEDGER, DeliveryLedger)
    assert len(ledger.sent) == len(inbox.received) == meta.statistics["delivery"]["sent"]
    assert plain.status == "completed"  # the re-run did not opt in: nothing more was sent
    assert len(inbox.received) == len(ledger.sent)


@pytest.mark.timeout(90)
async def test_an_unreachable_mail_server_is_a_warning_not_a_failed_run(
    temporal_client: Client, tmp_path: Path
) -> None:
    async with pipeline_env(temporal_client, tmp_path, delivery=email(free_port())) as env:
        folder, meta = await env.run(deliver="email")
    assert meta.status == "completed", meta.error
    failed = [w for w in meta.warnings if w.startswith("delivery_failed: email: ")]
    assert len(failed) == 1, meta.warnings
    assert folder.exists(TEAM_SUMMARY)
    assert not folder.exists(DELIVERY_LEDGER)


@pytest.mark.timeout(90)
async def test_a_schedule_that_opted_in_delivers_each_run(
    temporal_client: Client, tmp_path: Path
) -> None:
    start, _ = window_dates("last-week", datetime.now(ZoneInfo("UTC")).date())
    ws = generate_workspace(WorkspaceSpec(users=3, days=7, start_date=start))
    name = f"mailed-{uuid.uuid4().hex[:8]}"
    inbox = Inbox()
    with smtp_server(inbox, None) as port:
        async with pipeline_env(temporal_client, tmp_path, ws=ws, delivery=email(port)) as env:
            await schedules.create_schedule(
                temporal_client,
                env.settings,
                name=name,
                cron="0 7 * * MON",
                window="last-week",
                deliver="email",
            )
            try:
                await schedules.trigger_schedule(temporal_client, name)
                recent: list[schedules.RecentRun] = []
                for _ in range(75):
                    recent = (await schedules.describe_schedule(temporal_client, name)).recent_runs
                    if recent:
                        break
                    await asyncio.sleep(0.2)
                assert recent, "trigger did not start a run"
                parent = temporal_client.get_workflow_handle_for(
                    ScheduledPipeline.run, recent[0].workflow_id
                )
                result = await asyncio.wait_for(parent.result(), 45)
            finally:
                await schedules.delete_schedule(temporal_client, name)
    folder = RunFolder(env.settings.output_dir, result.run_id)
    sent = folder.load(DELIVERY_LEDGER, DeliveryLedger)
    assert "email:team" in {m.key for m in sent.sent}
    assert [r.recipients for r in inbox.received].count(["lead@example.test"]) == 1


@pytest.mark.timeout(90)
async def test_a_failed_delivery_activity_is_a_warning_not_a_failed_run(
    temporal_client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise ConfigError("delivery.email is broken on purpose")

    monkeypatch.setattr(activities, "deliver_run", broken)
    async with pipeline_env(temporal_client, tmp_path, delivery=email(free_port())) as env:
        folder, meta = await env.run(deliver="email,webhook")
    assert meta.status == "completed", meta.error
    assert "delivery_failed: email,webhook: delivery.email is broken on purpose" in meta.warnings
    assert "delivery" not in meta.statistics
    assert folder.exists(TEAM_SUMMARY)
