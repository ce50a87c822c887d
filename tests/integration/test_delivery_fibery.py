"""A run that opted into Fibery delivery writes its team summary back to the Fibery simulator
(real sockets), which validates the create and the document write."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client

from tests.integration.pipeline_env import pipeline_env
from volt_agent.config import Secrets
from volt_agent.delivery import fibery as fibery_delivery
from volt_agent.delivery.fibery import FIBERY_KEY, report_id
from volt_agent.delivery.ledger import DELIVERY_LEDGER, DeliveryLedger
from volt_agent.delivery.service import deliver_run
from volt_agent.sandbox._fibery_schema import REPORT_TYPE
from volt_agent.sandbox.fibery_sim import ENTITY_CREATE, fibery_writes
from volt_agent.storage.run_folder import TEAM_SUMMARY


@pytest.mark.timeout(90)
async def test_a_run_writes_one_report_entity_and_a_retry_adds_none(
    temporal_client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with pipeline_env(temporal_client, tmp_path) as env:
        folder, meta = await env.run(deliver="fibery")
        _, plain = await env.run(start_from="fibery", run_id=folder.run_id)
        writes = fibery_writes(env.sims.fibery.app)
        settings = env.settings.delivery
        [sent] = folder.load(DELIVERY_LEDGER, DeliveryLedger).sent
        retried = await deliver_run(
            folder, ["fibery"], settings, Secrets(), scope=sent.scope, fibery=env.activities.fibery
        )

        def died(*_: object) -> None:
            raise RuntimeError("worker lost before the ledger write")

        with monkeypatch.context() as patch:
            patch.setattr(fibery_delivery, "record_sent", died)
            with pytest.raises(RuntimeError):
                await deliver_run(
                    folder,
                    ["fibery"],
                    settings,
                    Secrets(),
                    scope="exec-2",
                    fibery=env.activities.fibery,
                )
        finished = await deliver_run(
            folder, ["fibery"], settings, Secrets(), scope="exec-2", fibery=env.activities.fibery
        )
        creates = env.sims.fibery.stats()[ENTITY_CREATE]

    assert meta.status == "completed", meta.error
    assert not [w for w in meta.warnings if w.startswith("delivery_failed")], meta.warnings
    assert meta.statistics["delivery"] == {"sent": 1, "skipped": 0}
    assert plain.status == "completed"  # the re-run did not opt in
    assert (sent.key, sent.recipients) == (FIBERY_KEY, [f"{REPORT_TYPE}#1"])
    assert (retried.sent, retried.skipped) == (0, 1)
    assert (finished.sent, finished.warnings) == (1, [])
    assert creates == 2
    first, second = writes.entities(REPORT_TYPE)
    assert first["fibery/id"] == report_id(folder.run_id, sent.scope)
    assert second["fibery/id"] == report_id(folder.run_id, "exec-2")
    summary = folder.read_bytes(TEAM_SUMMARY).decode()
    start, end = meta.parameters["start_date"], meta.parameters["end_date"]
    assert first["Reports/Name"] == f"Team report {start}..{end}"
    for entity in (first, second):
        secret = entity["Reports/Summary"]["Collaboration~Documents/secret"]
        assert writes.contents[secret] == summary
    keys = [(m.key, m.scope) for m in folder.load(DELIVERY_LEDGER, DeliveryLedger).sent]
    assert keys == [(FIBERY_KEY, sent.scope), (FIBERY_KEY, "exec-2")]
