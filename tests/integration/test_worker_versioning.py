"""Worker Versioning (opt-in ``temporal.worker_deployment``) on the real dev server.

A run pinned to version b1 that is in flight when b2 becomes current finishes on b1's
worker; the next run starts on b2. No dynamic config is needed: the ``temporal`` CLI 1.9.1
dev server (server 1.32.0) serves Worker Deployments as started by ``DevServer``.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import VersioningBehavior
from temporalio.api.workflowservice.v1 import SetWorkerDeploymentCurrentVersionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError

from tests.integration.pipeline_env import pipeline_env
from volt_agent.pipeline.service import query_progress
from volt_agent.pipeline.worker import build_worker
from volt_agent.sandbox import FiberySimulatorOptions, WorkspaceSpec, generate_workspace

pytestmark = pytest.mark.integration


async def make_current(client: Client, deployment: str, build_id: str) -> None:
    """``temporal worker deployment set-current-version``; retried until the version's first
    poller has registered it."""
    request = SetWorkerDeploymentCurrentVersionRequest(
        namespace=client.namespace, deployment_name=deployment, build_id=build_id, identity="test"
    )
    for _ in range(50):
        try:
            await client.workflow_service.set_worker_deployment_current_version(request)
            return
        except RPCError:
            await asyncio.sleep(0.2)
    await client.workflow_service.set_worker_deployment_current_version(request)


async def version_of(handle: WorkflowHandle[Any, Any]) -> tuple[str, str]:
    info = (await handle.describe()).raw_description.workflow_execution_info.versioning_info
    return info.deployment_version.build_id, VersioningBehavior.Name(info.behavior)


@pytest.mark.timeout(90)
async def test_pinned_run_finishes_on_its_version_while_the_next_starts_on_the_new_one(
    temporal_client: Client, tmp_path: Path
) -> None:
    deployment = f"volt-test-{uuid.uuid4().hex[:8]}"
    slow = FiberySimulatorOptions(latency_seconds=(1.0, 1.0))  # enrichment outlasts the switch
    async with pipeline_env(
        temporal_client,
        tmp_path,
        ws=generate_workspace(WorkspaceSpec(users=4, days=7)),
        fibery=slow,
        temporal__worker_deployment=deployment,
        temporal__worker_build_id="b1",
        temporal__versioning_behavior="pinned",
    ) as env:
        await make_current(temporal_client, deployment, "b1")
        _, first = await env.start(run_id="pinned-1")
        for _ in range(200):
            if (await query_progress(first)).current_activity == "enrich_entities":
                break
            await asyncio.sleep(0.1)
        v2 = env.settings.model_copy(
            update={"temporal": env.settings.temporal.model_copy(update={"worker_build_id": "b2"})}
        )
        async with build_worker(temporal_client, v2, env.activities):
            await make_current(temporal_client, deployment, "b2")
            assert (await first.describe()).status == WorkflowExecutionStatus.RUNNING
            _, second = await env.start(run_id="pinned-2")
            await asyncio.wait_for(asyncio.gather(first.result(), second.result()), 60)
            assert await version_of(first) == ("b1", "VERSIONING_BEHAVIOR_PINNED")
            assert await version_of(second) == ("b2", "VERSIONING_BEHAVIOR_PINNED")
