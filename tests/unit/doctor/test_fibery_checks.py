"""The doctor's Fibery checks against the Fibery simulator in process (``ASGITransport``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import SecretStr

from volt_agent.config import EnrichmentSettings, FiberySettings, HttpSettings
from volt_agent.doctor.checks import Check
from volt_agent.doctor.fibery import check_fibery
from volt_agent.sandbox import (
    FiberySimulatorOptions,
    Workspace,
    WorkspaceSpec,
    create_fibery_app,
    generate_workspace,
)
from volt_agent.sandbox.stats import RequestStats
from volt_agent.sources.fibery import FiberyClient

REPO_ENRICHMENT = Path(__file__).parents[3] / "config" / "enrichment_config.yaml"
SETTINGS = FiberySettings(base_url="http://fibery.test", requests_per_second=1000)
HTTP = HttpSettings(max_retries=0)
TOKEN = FiberySimulatorOptions().token


@cache
def workspace() -> Workspace:
    return generate_workspace(WorkspaceSpec(users=3, days=2, seed=5))


def repo_enrichment() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(REPO_ENRICHMENT.read_text())
    return data


async def run_checks(
    enrichment: EnrichmentSettings, token: str = TOKEN
) -> tuple[list[Check], RequestStats]:
    app = create_fibery_app(workspace())
    transport = httpx.ASGITransport(app=app)
    async with FiberyClient.create(SETTINGS, HTTP, SecretStr(token), transport) as client:
        checks = await check_fibery(client, enrichment)
    stats: RequestStats = app.state.stats
    return checks, stats


async def test_the_repository_config_matches_the_sandbox_schema_in_one_request() -> None:
    checks, stats = await run_checks(EnrichmentSettings.model_validate(repo_enrichment()))
    assert [(c.name, c.status) for c in checks] == [
        ("Fibery access", "ok"),
        ("Fibery enrichment config", "ok"),
    ]
    assert stats.get("requests") == 1


@pytest.mark.parametrize(
    ("type_key", "alias", "path", "named"),
    [
        ("Scrum/Bug", "severity", ["Scrum/Severty", "enum/name"], "'Scrum/Severty'"),
        ("Scrum/Task", "estimate", "Scrum/Estimat", "'Scrum/Estimat'"),
    ],
)
async def test_a_wrong_field_is_one_error_naming_it_and_the_closest_names(
    type_key: str, alias: str, path: str | list[str], named: str
) -> None:
    data = repo_enrichment()
    data["types"][type_key]["fields"][alias] = path
    checks, _ = await run_checks(EnrichmentSettings.model_validate(data))
    [access, config] = checks
    assert access.status == "ok"
    assert config.status == "error"
    assert named in config.message
    assert "closest:" in config.message
    assert "\n" not in config.message


async def test_an_unknown_type_is_an_error_naming_it() -> None:
    data = repo_enrichment()
    data["types"]["Scrum/Tsk"] = {"fields": {}}
    checks, _ = await run_checks(EnrichmentSettings.model_validate(data))
    assert checks[1].status == "error"
    assert "'Scrum/Tsk'" in checks[1].message
    assert "Scrum/Task" in checks[1].message


async def test_a_rejected_token_is_an_error_and_the_config_is_skipped() -> None:
    checks, stats = await run_checks(EnrichmentSettings(), token="wrong-token")
    assert [(c.name, c.status) for c in checks] == [
        ("Fibery access", "error"),
        ("Fibery enrichment config", "skip"),
    ]
    assert "FIBERY_API_TOKEN" in checks[0].message
    assert stats.get("requests") == 1
