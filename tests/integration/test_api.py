"""The management API over real HTTP (uvicorn on loopback) against the session's dev server:
every role on every endpoint allowed or denied, health, traversal, and schemathesis on the spec."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client, WorkflowExecutionStatus

from tests.integration.pipeline_env import pipeline_env
from volt_agent.api.app import create_app
from volt_agent.config import ApiSettings, ApiToken, Settings
from volt_agent.pipeline.devserver import DevServer
from volt_agent.pipeline.service import prepare_run, start_run
from volt_agent.sandbox.server import ServedApp
from volt_agent.schedules import service as schedules
from volt_agent.storage.run_folder import RunFolder
from volt_agent.storage.run_metadata import RunMetadata

pytestmark = pytest.mark.integration

TOKENS = {
    "viewer": "viewer-token-0123456789",
    "operator": "operator-token-0123456789",
    "admin": "admin-token-0123456789abc",
}
RANK = {"viewer": 0, "operator": 1, "admin": 2}
RUN = "run_2026-11-23-07-00-00"


@dataclass
class Api:
    base_url: str
    settings: Settings
    schedule_names: list[str] = field(default_factory=list)


def seed_run(output_dir: Path) -> None:
    """A finished run folder with reports, plus files the API must never serve."""
    folder = RunFolder(output_dir, RUN)
    now = datetime(2026, 11, 23, 7, tzinfo=UTC)
    folder.save(
        "run_metadata.json",
        RunMetadata(
            run_id=RUN,
            workflow_id=f"toggl-fibery-{RUN}",
            created_at=now,
            updated_at=now,
            finished_at=now,
            status="completed",
            parameters={"start_date": "2026-11-16", "end_date": "2026-11-22"},
            stages_completed=["toggl", "fibery"],
        ),
    )
    folder.save_text("reports/team_summary.md", "# Team\n")
    folder.save_text("reports/individual/ada-1.md", "# Ada\n")
    folder.save_text("raw_toggl_data.json", "{}")  # in the run folder, outside reports/
    (output_dir / "secret.txt").write_text("do not serve")
    (folder.path / "reports" / "escape.md").symlink_to(output_dir / "secret.txt")


@pytest.fixture(scope="module")
def api(temporal_dev_server: DevServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("api")
    settings = Settings(
        output_dir=root / "runs",
        data_dir=root / "data",
        temporal=temporal_dev_server.settings().model_copy(
            update={"task_queue": f"api-{uuid.uuid4()}"}
        ),
        api=ApiSettings(
            tokens=[
                ApiToken(name=role, role=role, token=SecretStr(token))  # type: ignore[arg-type]
                for role, token in TOKENS.items()
            ]
        ),
    )
    seed_run(settings.output_dir)
    with ServedApp(create_app(settings)) as served:
        yield Api(served.base_url, settings)
    asyncio.run(_cleanup(temporal_dev_server, settings))


async def _cleanup(server: DevServer, settings: Settings) -> None:
    """Terminate what the tests (and schemathesis) started on the API's task queue."""
    client = await Client.connect(server.address, namespace=server.namespace)
    query = f'TaskQueue = "{settings.temporal.task_queue}" AND ExecutionStatus = "Running"'
    async for execution in client.list_workflows(query):
        await client.get_workflow_handle(execution.id).terminate("test cleanup")
    async for entry in await client.list_schedules():
        description = await client.get_schedule_handle(entry.id).describe()
        action = description.schedule.action
        if getattr(action, "task_queue", None) == settings.temporal.task_queue:
            await client.get_schedule_handle(entry.id).delete()


@pytest.fixture
async def http(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as client:
        yield client


def bearer(role: str | None) -> dict[str, str]:
    if role is None:
        return {}
    token = TOKENS.get(role, "not-a-known-token-000000")
    return {"Authorization": f"Bearer {token}"}


async def running_run(client: Client, settings: Settings) -> str:
    """A run whose workflow is running (no worker polls the API's queue, so it stays so)."""
    params = prepare_run(
        settings, start_date="2026-11-16", end_date="2026-11-22", run_id=f"c-{uuid.uuid4().hex}"
    )
    await start_run(client, params, settings.temporal.task_queue)
    return params.run_id


async def new_schedule(client: Client, settings: Settings) -> str:
    name = f"api-{uuid.uuid4().hex[:10]}"
    await schedules.create_schedule(
        client, settings, name=name, cron="0 7 * * MON", window="last-week", paused=True
    )
    return name


# (method, path template, body, required role, success status)
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, str, int]] = [
    ("GET", "/runs", None, "viewer", 200),
    ("GET", f"/runs/{RUN}", None, "viewer", 200),
    ("GET", f"/runs/{RUN}/reports/team_summary.md", None, "viewer", 200),
    (
        "POST",
        "/runs",
        {"start_date": "2026-11-16", "end_date": "2026-11-22", "run_id": "{fresh}"},
        "operator",
        202,
    ),
    ("POST", "/runs/{running}/cancel", None, "operator", 202),
    ("GET", "/schedules", None, "admin", 200),
    (
        "POST",
        "/schedules",
        {"name": "{fresh}", "cron": "0 7 * * MON", "window": "last-week", "paused": True},
        "admin",
        201,
    ),
    ("POST", "/schedules/{schedule}/trigger", None, "admin", 202),
    ("DELETE", "/schedules/{schedule}", None, "admin", 204),
]


@pytest.mark.parametrize(("method", "path", "body", "needs", "ok"), ENDPOINTS)
async def test_every_role_on_every_endpoint(
    api: Api,
    http: httpx.AsyncClient,
    temporal_client: Client,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    needs: str,
    ok: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    seen = {}
    for role in (None, "stranger", "viewer", "operator", "admin"):
        allowed = role in RANK and RANK[role] >= RANK[needs]
        target, payload = path, dict(body) if body else None
        if allowed and "{running}" in path:
            target = path.format(running=await running_run(temporal_client, api.settings))
        elif allowed and "{schedule}" in path:
            target = path.format(schedule=await new_schedule(temporal_client, api.settings))
        elif "{" in path:
            target = path.format(running="run-x", schedule="nope")
        for key in ("name", "run_id"):  # unique per call: run ids have 1 s resolution
            if payload and payload.get(key) == "{fresh}":
                payload[key] = f"api-{uuid.uuid4().hex[:10]}"
        response = await http.request(method, target, json=payload, headers=bearer(role))
        seen[role] = response.status_code
        expected = ok if allowed else 401 if role not in RANK else 403
        assert response.status_code == expected, (role, response.text)
        if response.status_code == 401:
            assert response.headers["WWW-Authenticate"] == "Bearer"
        for token in TOKENS.values():
            assert token not in response.text
    assert seen[None] == seen["stranger"] == 401
    assert caplog.records  # the API logged (refusals, who started what) ...
    for token in TOKENS.values():  # ... and never a token
        assert token not in caplog.text


async def test_runs_listing_detail_and_reports(http: httpx.AsyncClient) -> None:
    viewer = bearer("viewer")
    runs = (await http.get("/runs", headers=viewer)).json()
    seeded = next(r for r in runs if r["run_id"] == RUN)
    # the folder says completed; Temporal never heard of it: still completed, now reconciled
    assert seeded["status"] == "completed"
    assert seeded["temporal_status"] == "NOT_FOUND"
    detail = (await http.get(f"/runs/{RUN}", headers=viewer)).json()
    assert detail["reports"] == ["escape.md", "individual/ada-1.md", "team_summary.md"]
    report = await http.get(f"/runs/{RUN}/reports/individual/ada-1.md", headers=viewer)
    assert report.status_code == 200
    assert report.text == "# Ada\n"
    assert report.headers["content-type"].startswith("text/markdown")
    assert (await http.get("/runs?status=failed", headers=viewer)).json() == []
    assert (await http.get("/runs/no-such-run", headers=viewer)).status_code == 404
    bad = await http.post(
        "/runs",
        json={"start_date": "2026-11-22", "end_date": "2026-11-16"},
        headers=bearer("operator"),
    )
    assert bad.status_code == 422
    assert "is before" in bad.json()["detail"]
    done = await http.post(f"/runs/{RUN}/cancel", headers=bearer("operator"))
    assert done.status_code == 404  # no workflow for it on this server


TRAVERSALS = [
    "../raw_toggl_data.json",
    "..%2Fraw_toggl_data.json",
    "%2e%2e/raw_toggl_data.json",
    "%2e%2e%2f%2e%2e%2fsecret.txt",
    "individual/../../raw_toggl_data.json",
    "..%5c..%5csecret.txt",
    "%2Fetc%2Fpasswd",
    "escape.md",  # a symlink pointing out of the run folder
    "individual",  # a folder, not a file
    "nope.md",
    "team_summary.md%00.png",
]


@pytest.mark.parametrize("path", TRAVERSALS)
async def test_report_traversal_is_404(api: Api, path: str) -> None:
    # Raw request targets: httpx would normalise "../" away before sending.
    url = f"{api.base_url}/runs/{RUN}/reports/{path}"
    async with httpx.AsyncClient() as client:
        request = client.build_request("GET", url, headers=bearer("admin"))
        request.extensions["target"] = f"/runs/{RUN}/reports/{path}".encode()
        response = await client.send(request)
    assert response.status_code == 404, response.text
    assert "do not serve" not in response.text
    assert response.text.strip() != "{}"


@pytest.mark.parametrize(
    "target", [f"/runs/..%2F{RUN}/reports/team_summary.md", "/runs/%2e%2e/reports/secret.txt"]
)
async def test_run_id_traversal_is_404(api: Api, target: str) -> None:
    async with httpx.AsyncClient() as client:
        request = client.build_request("GET", api.base_url + "/", headers=bearer("admin"))
        request.extensions["target"] = target.encode()
        assert (await client.send(request)).status_code == 404


async def test_health_reports_workers_temporal_and_output_dir(
    api: Api, temporal_client: Client, tmp_path: Path
) -> None:
    queue = f"health-{uuid.uuid4()}"  # nothing else runs here: no stray runs for the worker
    temporal = api.settings.temporal.model_copy(update={"task_queue": queue})
    settings = api.settings.model_copy(update={"temporal": temporal})
    with ServedApp(create_app(settings)) as served:
        async with httpx.AsyncClient(base_url=served.base_url, timeout=30) as http:
            unhealthy = await http.get("/health")
            async with pipeline_env(temporal_client, tmp_path, temporal__task_queue=queue):
                for _ in range(50):  # pollers show once the worker's first polls arrive
                    healthy = await http.get("/health")
                    if healthy.status_code == 200:
                        break
                    await asyncio.sleep(0.1)
    assert unhealthy.status_code == 503
    body = unhealthy.json()
    assert body["status"] == "unhealthy"
    assert body["temporal"]["ok"] is True
    assert body["workers"]["ok"] is False
    assert body["output_dir"]["ok"] is True
    assert healthy.status_code == 200, healthy.text
    assert healthy.json()["status"] == "ok"


async def test_api_without_temporal_still_lists_runs(api: Api) -> None:
    settings = api.settings.model_copy(
        update={"temporal": api.settings.temporal.model_copy(update={"address": "127.0.0.1:9"})}
    )
    with ServedApp(create_app(settings)) as served:
        async with httpx.AsyncClient(base_url=served.base_url, timeout=30) as client:
            runs = await client.get("/runs", headers=bearer("viewer"))
            health = await client.get("/health")
            start = await client.post(
                "/runs",
                json={"start_date": "2026-11-16", "end_date": "2026-11-22"},
                headers=bearer("operator"),
            )
    assert runs.status_code == 200
    assert [r["reconciled"] for r in runs.json()] == [False]
    assert health.status_code == 503
    assert "cannot reach Temporal" in health.json()["temporal"]["detail"]
    assert start.status_code == 503


def test_schemathesis_finds_no_server_errors(api: Api, tmp_path: Path) -> None:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{api.base_url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        "6",
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "1",  # hypothesis' lambda-source parsing is not thread-safe on CPython 3.11
        "--exclude-path",
        "/health",  # its documented 503 (no worker on this queue) is tested above
        "--seed",
        "5",
        "--generation-database",
        "none",
        "--request-timeout",
        "20",
        "--no-color",
        "--header",
        f"Authorization: Bearer {TOKENS['admin']}",
    ]
    done = subprocess.run(  # noqa: S603 - fixed argv, loopback target
        command,
        capture_output=True,
        text=True,
        timeout=90,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "No issues found" in done.stdout or "passed" in done.stdout, done.stdout[-3000:]


async def test_cancel_through_api_marks_workflow_cancel_requested(
    api: Api, http: httpx.AsyncClient, temporal_client: Client
) -> None:
    run_id = await running_run(temporal_client, api.settings)
    response = await http.post(f"/runs/{run_id}/cancel", headers=bearer("operator"))
    assert response.status_code == 202
    handle = temporal_client.get_workflow_handle(f"toggl-fibery-{run_id}")
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    await handle.terminate("test done")
    again = await http.post(f"/runs/{run_id}/cancel", headers=bearer("operator"))
    assert again.status_code == 409
    listed = (await http.get("/runs", headers=bearer("viewer"))).json()
    assert run_id not in {r["run_id"] for r in listed}  # no folder: no worker ever ran it


async def test_starting_an_existing_run_from_toggl_needs_force(
    api: Api, http: httpx.AsyncClient, temporal_client: Client
) -> None:
    run_id = f"done-{uuid.uuid4().hex[:12]}"
    folder = RunFolder(api.settings.output_dir, run_id)
    now = datetime(2026, 11, 23, 7, tzinfo=UTC)
    finished = RunMetadata(
        run_id=run_id,
        workflow_id=f"toggl-fibery-{run_id}",
        created_at=now,
        updated_at=now,
        finished_at=now,
        status="completed",
    )
    folder.save("run_metadata.json", finished)
    body = {"start_date": "2026-11-16", "end_date": "2026-11-22", "run_id": run_id}
    refused = await http.post("/runs", json=body, headers=bearer("operator"))
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert "\n" not in detail
    assert f"run {run_id} already exists" in detail
    assert '"force": true' in detail
    assert folder.exists("run_metadata.json")  # nothing started, nothing wiped
    handle = temporal_client.get_workflow_handle(f"toggl-fibery-{run_id}")
    with pytest.raises(Exception):  # noqa: B017, PT011 - RPCError not found: never started
        await handle.describe()
    forced = await http.post("/runs", json={**body, "force": True}, headers=bearer("operator"))
    assert forced.status_code == 202, forced.text
    assert forced.json()["run_id"] == run_id
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    await handle.terminate("test done")
