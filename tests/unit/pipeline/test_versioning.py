"""Worker Versioning settings: off by default, only for the long-lived shared-queue worker."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from temporalio.common import VersioningBehavior

from volt_agent.config import TemporalSettings, load_settings
from volt_agent.pipeline.versioning import build_id, deployment_config

REPO_CONFIG = Path(__file__).parents[3] / "config" / "config.yaml"


def test_unversioned_by_default() -> None:
    assert deployment_config(TemporalSettings()) is None


def test_deployment_version_from_settings() -> None:
    config = deployment_config(
        TemporalSettings(
            worker_deployment="volt-agent",
            worker_build_id="2026.11.30-abc",
            versioning_behavior="pinned",
        )
    )
    assert config is not None
    assert config.use_worker_versioning
    assert (config.version.deployment_name, config.version.build_id) == (
        "volt-agent",
        "2026.11.30-abc",
    )
    assert config.default_versioning_behavior == VersioningBehavior.PINNED


def test_build_id_defaults_to_the_package_version_and_behavior_to_auto_upgrade() -> None:
    settings = TemporalSettings(worker_deployment="volt-agent")
    config = deployment_config(settings)
    assert config is not None
    assert build_id(settings) == importlib.metadata.version("volt-agent")
    assert config.version.build_id == build_id(settings)
    assert config.default_versioning_behavior == VersioningBehavior.AUTO_UPGRADE


def test_repository_config_is_unversioned() -> None:
    temporal = load_settings(REPO_CONFIG, env={}).temporal
    assert temporal.worker_deployment is None
    assert temporal.versioning_behavior == "auto_upgrade"


def test_environment_sets_deployment_and_build_id() -> None:
    env = {"TEMPORAL_WORKER_DEPLOYMENT": "volt-agent", "TEMPORAL_WORKER_BUILD_ID": "img-42"}
    settings = load_settings(REPO_CONFIG, env=env)
    assert (settings.temporal.worker_deployment, settings.temporal.worker_build_id) == (
        "volt-agent",
        "img-42",
    )
