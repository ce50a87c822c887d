"""The doctor's Fibery checks: the token (one schema query) and the enrichment config."""

from __future__ import annotations

from volt_agent.config import EnrichmentSettings
from volt_agent.doctor.checks import Check, error, ok, skip
from volt_agent.errors import ConfigError, VoltAgentError
from volt_agent.sources.fibery import FiberyClient
from volt_agent.sources.fibery_schema import check_enrichment_config

FIBERY_ACCESS = "Fibery access"
FIBERY_CONFIG = "Fibery enrichment config"


async def check_fibery(client: FiberyClient, enrichment: EnrichmentSettings) -> list[Check]:
    """The token (one schema query) and every configured type and field against the schema."""
    try:
        schema = await client.schema()
    except VoltAgentError as exc:
        return [error(FIBERY_ACCESS, str(exc)), skip(FIBERY_CONFIG, "needs the Fibery schema")]
    databases = sum(t.meta.get("fibery/domain?") is True for t in schema.types.values())
    listed = f"{databases} databases" if databases else f"{len(schema.types)} types"
    checks = [ok(FIBERY_ACCESS, f"accepted; the schema lists {listed}")]
    try:
        check_enrichment_config(schema, enrichment)
    except ConfigError as exc:
        return [*checks, error(FIBERY_CONFIG, str(exc))]
    configured = len(enrichment.types)
    return [*checks, ok(FIBERY_CONFIG, f"the {configured} configured types and their fields exist")]
