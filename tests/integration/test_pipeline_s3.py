"""A whole run with its run folder in an S3 bucket (moto in server mode, a separate process),
on a real dev server against the simulators: the same artifacts as a local run, byte for byte,
nothing on the worker's disk, and ``list-runs``, ``show-run`` and report serving reading the
bucket."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
import yaml
from temporalio.client import Client
from typer.testing import CliRunner

from tests.integration.pipeline_env import pipeline_env
from tests.s3_server import MotoServer
from volt_agent.api.app import create_app
from volt_agent.cli import app
from volt_agent.config import ApiSettings, ApiToken
from volt_agent.domain.models import EnrichedData
from volt_agent.pipeline.devserver import DevServer
from volt_agent.runs import RunNotFoundError, get_run, list_runs, read_report
from volt_agent.storage.backends import BucketStore, LocalStore
from volt_agent.storage.run_folder import ENRICHED_DATA, RUN_METADATA

pytestmark = pytest.mark.integration

RUN = "s3-run-1"
VIEWER = "viewer-token-0123456789"


@pytest.fixture
def s3_env(s3_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket; the AWS variables of the moto server in this process's environment,
    as a worker's deployment sets them. Returns the storage URL."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    return f"s3://{s3_server.new_bucket()}/volt/runs"


async def test_a_run_in_a_bucket_equals_a_local_run(
    temporal_client: Client,
    temporal_dev_server: DevServer,
    s3_server: MotoServer,
    s3_env: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with pipeline_env(temporal_client, tmp_path / "local") as env:
        folder, meta = await env.run(run_id=RUN)
        assert meta.status == "completed", meta.error
        assert isinstance(folder.storage, LocalStore)
        local_files = folder.names()
        local_enriched = folder.read_bytes(ENRICHED_DATA)

    async with pipeline_env(temporal_client, tmp_path / "s3", storage_url=s3_env) as env:
        folder, meta = await env.run(run_id=RUN)
        assert meta.status == "completed", meta.error
        settings = env.settings
    assert isinstance(folder.storage, BucketStore)
    assert not (tmp_path / "s3").joinpath("runs").exists()  # the worker wrote nothing locally
    assert folder.names() == local_files
    bucket = s3_env.removeprefix("s3://").split("/")[0]
    assert s3_server.keys(bucket) == [f"volt/runs/{RUN}/{name}" for name in local_files]
    assert s3_server.object(bucket, f"volt/runs/{RUN}/{ENRICHED_DATA}") == local_enriched
    assert EnrichedData.model_validate_json(local_enriched).entities

    # list-runs / show-run / reports, as the management API and the CLI read them
    [summary] = await list_runs(settings, temporal_client)
    assert (summary.run_id, summary.status, summary.reconciled) == (RUN, "completed", True)
    detail = await get_run(settings, temporal_client, RUN)
    assert "team_summary.md" in detail.reports
    assert "report.html" in detail.reports
    assert any(p.startswith("individual/") for p in detail.reports)
    report = read_report(settings, RUN, "report.html")
    assert report.media_type == "text/html; charset=utf-8"
    assert report.content.startswith(b"<!DOCTYPE html>") or b"<html" in report.content[:500]
    for escape in ["../run_metadata.json", "individual/../../raw_toggl_data.json", "individual"]:
        with pytest.raises(RunNotFoundError):
            read_report(settings, RUN, escape)

    api_settings = settings.model_copy(
        update={"api": ApiSettings(tokens=[ApiToken(name="v", role="viewer", token=VIEWER)])}
    )
    transport = httpx.ASGITransport(app=create_app(api_settings))
    headers = {"Authorization": f"Bearer {VIEWER}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        team = await http.get(f"/runs/{RUN}/reports/team_summary.md", headers=headers)
        outside = await http.get(f"/runs/{RUN}/reports/..%2F{RUN_METADATA}", headers=headers)
        listed = await http.get("/runs", headers=headers)
    assert team.status_code == 200
    assert team.headers["content-type"] == "text/markdown; charset=utf-8"
    assert team.content == s3_server.object(bucket, f"volt/runs/{RUN}/reports/team_summary.md")
    assert outside.status_code == 404
    assert [r["run_id"] for r in listed.json()] == [RUN]

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOLT_AGENT_STORAGE_URL", s3_env)
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "output_dir": str(tmp_path / "nowhere"),
                "data_dir": str(tmp_path / "data"),
                "temporal": {
                    "dev_server_port": temporal_dev_server.port,
                    "task_queue": f"cli-{uuid.uuid4()}",
                },
            }
        )
    )
    runner = CliRunner()
    listed_cli = await asyncio.to_thread(runner.invoke, app, ["list-runs", "--config", str(config)])
    shown = await asyncio.to_thread(runner.invoke, app, ["show-run", RUN, "--config", str(config)])
    assert listed_cli.exit_code == 0, listed_cli.output
    assert RUN in listed_cli.output
    assert "completed" in listed_cli.output
    assert shown.exit_code == 0, shown.output
    assert f"{s3_env}/{RUN}/reports/team_summary.md" in shown.output
    assert not (tmp_path / "nowhere").exists()
