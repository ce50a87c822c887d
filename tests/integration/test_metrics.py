"""The worker's Prometheus endpoint after real sandbox runs: pipeline metrics with the right
values next to the Temporal SDK's own, and silent failures counted."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
import yaml
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from tests.integration.pipeline_env import pipeline_env, workspace
from volt_agent.config import MetricsSettings
from volt_agent.domain.models import EnrichedData, RawTogglData
from volt_agent.metrics import metrics_runtime
from volt_agent.pipeline.devserver import DevServer, free_ports
from volt_agent.storage.run_folder import ENRICHED_DATA, RAW_TOGGL

pytestmark = pytest.mark.integration

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Prometheus text format → {(name, labels): value}, without the exporter's own labels."""
    samples = {}
    for line in text.splitlines():
        found = SAMPLE.match(line)
        if not found or line.startswith("#"):
            continue
        name, labels, value = found.groups()
        pairs = {(k, v) for k, v in LABEL.findall(labels or "") if k != "service_name"}
        samples[(name, frozenset(pairs))] = float(value)
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


async def test_worker_metrics_after_sandbox_runs(
    temporal_dev_server: DevServer, tmp_path: Path
) -> None:
    (port,) = free_ports(1)
    runtime = metrics_runtime(MetricsSettings(host="127.0.0.1", port=port))
    client = await Client.connect(
        temporal_dev_server.address,
        namespace=temporal_dev_server.namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
    )
    async with pipeline_env(client, tmp_path, ws=workspace(users=5)) as env:
        folder, meta = await env.run(run_id="metrics-week")
        _, empty = await env.run(
            run_id="metrics-empty", start_date="2020-01-06", end_date="2020-01-12"
        )
        toggl_requests = env.sims.toggl.stats()["requests"]
        fibery_requests = env.sims.fibery.stats()["requests"]
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text

    assert meta.status == "completed", meta.error
    assert meta.warnings == []
    assert empty.status == "completed", empty.error
    assert [w.split(":")[0] for w in empty.warnings] == ["zero_entries"]

    samples = parse(text)
    raw = folder.load(RAW_TOGGL, RawTogglData)
    enriched = folder.load(ENRICHED_DATA, EnrichedData)
    assert value(samples, "volt_agent_entries_fetched_total") == len(raw.entries) > 0
    by_type = Counter((e.type_key, e.status) for e in enriched.entities)
    for (type_key, status), count in by_type.items():
        enriched_count = value(
            samples, "volt_agent_entities_enriched_total", type=type_key, status=status
        )
        assert enriched_count == count
    assert total(samples, "volt_agent_entities_enriched_total") == len(enriched.entities)
    assert value(samples, "volt_agent_api_requests_total", source="toggl") == toggl_requests
    assert value(samples, "volt_agent_api_requests_total", source="fibery") == fibery_requests
    assert value(samples, "volt_agent_runs_started_total") == 2
    assert value(samples, "volt_agent_runs_finished_total", outcome="completed") == 2
    assert value(samples, "volt_agent_run_duration_seconds_count", outcome="completed") == 2
    assert value(samples, "volt_agent_silent_failures_total", kind="zero_entries") == 1
    assert value(samples, "volt_agent_silent_failures_total", kind="zero_matched") == 0
    # the Temporal SDK's own metrics are served on the same port
    assert any(name.startswith("temporal_") for name, _ in samples)
    assert total(samples, "temporal_num_pollers") > 0


def test_worker_command_serves_metrics_and_a_second_one_on_the_port_still_works(
    temporal_dev_server: DevServer, tmp_path: Path
) -> None:
    """``volt-agent worker`` as a process: /metrics answers with its pollers; a second worker
    whose metrics port is taken warns and polls anyway."""
    (port,) = free_ports(1)
    queue = f"metrics-{uuid.uuid4()}"
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "output_dir": str(tmp_path / "runs"),
                "data_dir": str(tmp_path / "data"),
                "temporal": {"dev_server_port": temporal_dev_server.port, "task_queue": queue},
                "metrics": {"port": port},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "TEMPORAL_ADDRESS"}
    argv = [sys.executable, "-m", "volt_agent.worker", "--config", str(config)]
    first = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)  # noqa: S603
    second = None
    try:
        text = ""
        for _ in range(100):
            with contextlib.suppress(httpx.TransportError):
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
                if total(parse(text), "temporal_num_pollers") > 0:
                    break
            time.sleep(0.1)
        assert total(parse(text), "temporal_num_pollers") > 0, text[-2000:]
        second = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)  # noqa: S603
        output = b""
        assert second.stdout is not None
        while b"Worker polling" not in output and second.poll() is None:
            output += second.stdout.readline()
        assert second.poll() is None, output
        assert b"cannot serve metrics on" in output
        assert b"runs without metrics" in output
    finally:
        for proc in (first, second):
            if proc is not None:
                proc.terminate()
                proc.communicate(timeout=20)
