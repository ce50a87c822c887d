"""``/health`` and ``volt-agent doctor`` check the bucket when run folders go to one (not the
unused local ``output_dir``), against a real moto S3 server, and write nothing to it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from tests.s3_server import MotoServer
from volt_agent.api.app import create_app
from volt_agent.api.temporal import TemporalGateway
from volt_agent.config import Settings
from volt_agent.doctor.checks import STORAGE, check_bucket

pytestmark = pytest.mark.integration


def bucket_settings(tmp_path: Path, bucket: str, task_queue: str = "q") -> Settings:
    return Settings.model_validate(
        {
            "output_dir": tmp_path / "occupied.txt" / "runs",
            "storage_url": f"s3://{bucket}/team/runs",
            "temporal": {"task_queue": task_queue},
        }
    )


@pytest.fixture
def aws_env(s3_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)


def test_doctor_lists_the_bucket_and_leaves_nothing(
    s3_server: MotoServer, aws_env: None, tmp_path: Path
) -> None:
    bucket = s3_server.new_bucket()
    (tmp_path / "occupied.txt").write_text("the local output_dir is not used with a bucket")
    check = check_bucket(bucket_settings(tmp_path, bucket))
    assert (check.name, check.status) == (STORAGE, "ok")
    assert f"s3://{bucket}/team/runs" in check.message
    assert s3_server.keys(bucket) == []


def test_doctor_names_a_missing_bucket_in_one_line(
    s3_server: MotoServer, aws_env: None, tmp_path: Path
) -> None:
    check = check_bucket(bucket_settings(tmp_path, "no-such-bucket-for-doctor"))
    assert check.status == "error"
    assert "no-such-bucket-for-doctor does not exist" in check.message
    assert "VOLT_AGENT_STORAGE_URL" in check.message
    assert "\n" not in check.message


@pytest.mark.parametrize("exists", [True, False])
async def test_health_checks_the_bucket_not_the_local_folder(
    s3_server: MotoServer,
    aws_env: None,
    temporal_client: Client,
    tmp_path: Path,
    exists: bool,
) -> None:
    bucket = s3_server.new_bucket() if exists else "no-such-bucket-for-health"
    (tmp_path / "occupied.txt").write_text("the local output_dir is not used with a bucket")
    settings = bucket_settings(tmp_path, bucket, task_queue="volt-agent-health-s3")

    async def connector() -> Client:
        return temporal_client

    app = create_app(settings, gateway=TemporalGateway(settings, connector))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as http:
        first = (await http.get("/health")).json()["output_dir"]
        second = (await http.get("/health")).json()["output_dir"]
    assert first["ok"] is exists
    assert first == second  # the second answer is the cached first one
    if exists:
        assert first["detail"] == f"s3://{bucket}/team/runs answers"
        assert s3_server.keys(bucket) == []
    else:
        assert "no-such-bucket-for-health does not exist" in first["detail"]
