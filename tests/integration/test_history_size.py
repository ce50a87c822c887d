"""History stays small: it grows with batches and user groups, never with entries."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client

from tests.integration.pipeline_env import pipeline_env, workspace
from volt_agent.domain.models import EnrichedData
from volt_agent.storage.run_folder import ENRICHED_DATA

pytestmark = pytest.mark.integration

MAX_PAYLOAD_BYTES = 256 * 1024


@pytest.mark.timeout(300)
async def test_two_thousand_entity_run_has_a_small_history(
    temporal_client: Client, tmp_path: Path
) -> None:
    ws = workspace(users=430, days=7, seed=7)
    async with pipeline_env(temporal_client, tmp_path, ws=ws) as env:
        params, handle = await env.start()
        await handle.result()
        history = await handle.fetch_history()
    enriched = (env.settings.output_dir / params.run_id / ENRICHED_DATA).read_bytes()
    entities = EnrichedData.model_validate_json(enriched).entities
    assert len(entities) >= 2000
    assert len(history.events) < 2000
    largest = max(event.ByteSize() for event in history.events)
    assert largest < MAX_PAYLOAD_BYTES
