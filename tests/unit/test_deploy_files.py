"""deploy/ and docker-compose.yml, validated offline: compose against the Compose spec,
Kubernetes manifests against the bundled API schemas, alert rules with promtool, the
dashboard and alerts against the metrics the worker really exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from volt_agent import metrics
from volt_agent.config import Settings

REPO = Path(__file__).parents[2]
LOCAL_ONLY = "127.0.0.1:"
DEPLOY = REPO / "deploy"
BIN = Path(sys.executable).parent
K8S = sorted((DEPLOY / "k8s").rglob("*.yaml"))
PIPELINE_METRICS = set(re.findall(r"^\s+(volt_agent_\w+)", metrics.__doc__ or "", re.MULTILINE))
TEMPORAL_METRICS = {
    "temporal_num_pollers",
    "temporal_worker_task_slots_used",
    "temporal_activity_schedule_to_start_latency",
}
METRIC = re.compile(
    r"\b((?:volt_agent|temporal)_[a-z_]+?)(?:_bucket|_count|_sum)?\b(?=[{\[(\s)]|$)"
)


def run(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv of validation tools
        [str(a) for a in argv], capture_output=True, text=True, timeout=60, check=False
    )


def test_compose_file_matches_the_compose_spec() -> None:
    done = run(
        BIN / "check-jsonschema",
        "--builtin-schema",
        "vendor.compose-spec",
        REPO / "docker-compose.yml",
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_runs_worker_and_api_on_the_configured_ports() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgresql", "temporal", "temporal-ui", "temporal-admin-tools", "worker", "api"} <= (
        set(services)
    )
    assert services["prometheus"]["profiles"] == ["monitoring"]
    defaults = Settings()
    metrics_port = f"{LOCAL_ONLY}{defaults.metrics.port}:{defaults.metrics.port}"
    assert metrics_port in services["worker"]["ports"]
    assert f"{defaults.api.port}:{defaults.api.port}" in services["api"]["ports"]
    assert services["worker"]["command"] == ["worker"]
    assert services["api"]["command"] == ["serve"]
    for name in ("worker", "api"):
        assert services[name]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert "runs:/data/runs" in services[name]["volumes"]
    for source in re.findall(r"\./(deploy/[\w./-]+)", (REPO / "docker-compose.yml").read_text()):
        assert (REPO / source).exists(), source


def test_compose_publishes_only_the_api_beyond_this_host() -> None:
    """Temporal's gRPC port and UI have no authentication (review C4): loopback only."""
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    published = {
        name: [str(port) for port in service.get("ports", [])] for name, service in services.items()
    }
    assert published["temporal"] == [f"{LOCAL_ONLY}7233:7233"]
    assert published["temporal-ui"] == [f"{LOCAL_ONLY}8080:8080"]
    open_to_all = {
        name for name, ports in published.items() for p in ports if not p.startswith(LOCAL_ONLY)
    }
    assert open_to_all == {"api"}


def test_images_are_pinned_never_latest() -> None:
    """``:latest`` with ``IfNotPresent`` lets replicas run different builds (review M4)."""
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert compose["x-volt-agent"]["image"] == f"volt-agent:{version}"
    containers = [
        container
        for path in K8S
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc["kind"] == "Deployment"
        for container in doc["spec"]["template"]["spec"]["containers"]
    ]
    assert len(containers) == 2
    for container in containers:
        image = container["image"]
        assert image == f"volt-agent:{version}"
        assert container["imagePullPolicy"] in ("IfNotPresent", "Always")


@pytest.mark.parametrize("path", K8S, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_kubernetes_manifests_are_valid(path: Path) -> None:
    for document in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(document, "1.37.0", strict=True)


def test_kubernetes_manifest_kinds_are_all_there() -> None:
    kinds = {
        (doc["kind"], doc["metadata"]["name"])
        for path in K8S
        for doc in yaml.safe_load_all(path.read_text())
    }
    assert kinds >= {
        ("Deployment", "volt-agent-worker"),
        ("Deployment", "volt-agent-api"),
        ("Service", "volt-agent-api"),
        ("ConfigMap", "volt-agent-config"),
        ("Secret", "volt-agent-secrets"),
    }


def test_a_broken_manifest_is_caught() -> None:
    document = yaml.safe_load((DEPLOY / "k8s" / "api-service.yaml").read_text())
    document["spec"]["ports"][0]["port"] = "eighty"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(document, "1.37.0", strict=True)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian: prometheus)")
def test_alert_rules_pass_promtool_check_and_unit_tests() -> None:
    rules = DEPLOY / "monitoring" / "alerts.yml"
    done = run("promtool", "check", "rules", rules)
    assert done.returncode == 0, done.stdout + done.stderr
    done = run("promtool", "test", "rules", DEPLOY / "monitoring" / "alerts.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def referenced_metrics(text: str) -> set[str]:
    return {m for m in METRIC.findall(text) if not m.endswith("_")}


def test_dashboard_parses_and_uses_only_exported_metrics() -> None:
    dashboard = json.loads(
        (DEPLOY / "monitoring" / "grafana" / "volt-agent-dashboard.json").read_text()
    )
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(dashboard["panels"]) >= 10
    used = set().union(*(referenced_metrics(e) for e in exprs))
    assert used <= PIPELINE_METRICS | TEMPORAL_METRICS, used - PIPELINE_METRICS
    assert {"volt_agent_runs_finished_total", "volt_agent_api_rate_limited_total"} <= used


def test_alerts_cover_the_issue_and_use_only_exported_metrics() -> None:
    groups = yaml.safe_load((DEPLOY / "monitoring" / "alerts.yml").read_text())["groups"]
    rules = {r["alert"]: r["expr"] for g in groups for r in g["rules"]}
    assert set(rules) >= {
        "VoltAgentRunFailed",
        "VoltAgentSilentFailure",
        "VoltAgentRateLimitSaturation",
        "VoltAgentEnrichmentNotFoundRatio",
        "VoltAgentNoWorkerPolling",
    }
    used = set().union(*(referenced_metrics(e) for e in rules.values()))
    assert used <= PIPELINE_METRICS | TEMPORAL_METRICS, used


def test_pipeline_metric_list_is_read() -> None:
    assert len(PIPELINE_METRICS) == 12
