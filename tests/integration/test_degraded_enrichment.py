"""A Fibery batch that fails for good becomes ``error`` rows; the run completes with a warning.

The worker's Fibery client goes through a transport that refuses the entity queries of chosen
types (the simulator's own fault rules match endpoints, not types), so every other request —
the schema, the other types, the documents — is real.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client

from tests.integration.pipeline_env import PipelineEnv, pipeline_env
from volt_agent.domain.models import EnrichedData
from volt_agent.sources.fibery import FiberyClient
from volt_agent.storage.run_folder import ENRICHED_DATA, TEAM_SUMMARY

pytestmark = pytest.mark.integration


class RefuseTypes(httpx.AsyncBaseTransport):
    """``inner``, except that a command naming one of ``statuses``' types gets that status."""

    def __init__(self, inner: httpx.AsyncBaseTransport, statuses: dict[str, int]) -> None:
        self.inner, self.statuses = inner, statuses
        self.refused: dict[str, int] = dict.fromkeys(statuses, 0)
        self.refused_alone: dict[str, int] = dict.fromkeys(statuses, 0)
        """Refusals of requests that carried only that type's query (a refused merged
        request is sent again one command per request: those are the client's attempts)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = request.content.decode(errors="replace")
        for type_key, status in self.statuses.items():
            if f'"{type_key}"' in body:
                self.refused[type_key] += 1
                commands = json.loads(body)
                if isinstance(commands, list) and len(commands) == 1:
                    self.refused_alone[type_key] += 1
                message = f"sandbox: refused the query of {type_key}"
                return httpx.Response(status, json={"message": message})
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def refuse_types(env: PipelineEnv, statuses: dict[str, int]) -> RefuseTypes:
    transport = RefuseTypes(httpx.AsyncHTTPTransport(), statuses)
    env.activities._fibery = FiberyClient.create(  # the worker builds it lazily otherwise
        env.settings.fibery, env.settings.http, SecretStr(env.sims.fibery.token), transport
    )
    return transport


@pytest.mark.timeout(90)
async def test_failed_batches_become_error_rows_and_the_run_completes(
    temporal_client: Client, tmp_path: Path
) -> None:
    """Scrum/Bug: 503 on every try (retried until the schedule-to-close bound);
    Product/Feature: 400 (non-retryable, degraded at once)."""
    async with pipeline_env(
        temporal_client, tmp_path, retry__enrichment_schedule_to_close_seconds=4
    ) as env:
        refused = refuse_types(env, {"Scrum/Bug": 503, "Product/Feature": 400})
        folder, meta = await env.run()
    assert meta.status == "completed", meta.error
    assert meta.stages_completed == ["toggl", "fibery"]
    failed = sorted(w for w in meta.warnings if w.startswith("enrichment_batch_failed: "))
    assert len(failed) == 2, meta.warnings
    assert failed[0].startswith("enrichment_batch_failed: Product/Feature batch 0: Fibery:")
    assert failed[1].startswith("enrichment_batch_failed: Scrum/Bug batch 0: Fibery:")
    assert all("\n" not in w for w in failed)
    assert refused.refused_alone["Product/Feature"] == 1  # non-retryable: one attempt, no retries
    assert refused.refused["Scrum/Bug"] > 4  # the client's and the activity's retries

    enriched = folder.load(ENRICHED_DATA, EnrichedData)
    by_type: dict[str, set[str]] = {}
    for entity in enriched.entities:
        by_type.setdefault(entity.type_key, set()).add(entity.status)
    assert by_type["Scrum/Bug"] == {"error"}
    assert by_type["Product/Feature"] == {"error"}
    assert by_type["Scrum/Task"] <= {"found", "not_found"}
    bugs = [e for e in enriched.entities if e.type_key == "Scrum/Bug"]
    assert bugs
    assert all(e.error and "503" in e.error for e in bugs)
    features = [e for e in enriched.entities if e.type_key == "Product/Feature"]
    assert all(e.error and "400" in e.error for e in features)

    errors = sum(e.status == "error" for e in enriched.entities)
    assert enriched.statistics["error"] == errors >= len(bugs) + len(features)
    batches = meta.statistics["enrichment_batches"]
    assert batches["failed_batches"] == 2
    assert batches["error"] == errors
    assert meta.statistics["enrichment"]["error"] == errors
    assert folder.exists(TEAM_SUMMARY)
