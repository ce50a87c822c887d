"""Worker Versioning (Temporal Worker Deployments) of the long-lived workers, when configured.

Off by default: workers are unversioned and every change to the commands a workflow issues
is gated by ``workflow.patched`` (replay tests over ``tests/fixtures/histories`` enforce it).
With ``temporal.worker_deployment`` set, a long-lived worker joins that deployment as
version ``{deployment}.{build_id}``; the operator makes a version current
(``temporal worker deployment set-current-version``) and new runs go to it. In-process
workers of ``volt-agent run`` stay unversioned: their per-run queue has no other poller, so
a version that is not current would never get its own run.
"""

from __future__ import annotations

import importlib.metadata

from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import WorkerDeploymentConfig

from volt_agent.config import TemporalSettings

PACKAGE = "volt-agent"
BEHAVIORS = {
    "auto_upgrade": VersioningBehavior.AUTO_UPGRADE,
    "pinned": VersioningBehavior.PINNED,
}


def build_id(temporal: TemporalSettings) -> str:
    """``temporal.worker_build_id``, else the installed volt-agent version."""
    if temporal.worker_build_id:
        return temporal.worker_build_id
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def deployment_config(temporal: TemporalSettings) -> WorkerDeploymentConfig | None:
    """The ``Worker(deployment_config=...)`` of a long-lived worker; None when unversioned."""
    if not temporal.worker_deployment:
        return None
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(temporal.worker_deployment, build_id(temporal)),
        use_worker_versioning=True,
        default_versioning_behavior=BEHAVIORS[temporal.versioning_behavior],
    )
