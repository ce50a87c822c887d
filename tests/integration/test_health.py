"""``/health`` is open to anyone, so it must be cheap and leave no trace: at most one Temporal
RPC per ``HEALTH_TTL_SECONDS`` and nothing written to the output folder."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any, cast

import httpx
from temporalio.client import Client

from volt_agent.api.app import create_app
from volt_agent.api.temporal import HEALTH_TTL_SECONDS, TemporalGateway
from volt_agent.config import Settings


class CountingService:
    """The client's workflow service, counting every RPC made through it."""

    def __init__(self, service: Any, calls: Counter[str]) -> None:
        self._service, self._calls = service, calls

    def __getattr__(self, name: str) -> Any:
        self._calls[name] += 1
        return getattr(self._service, name)


class CountingClient:
    def __init__(self, client: Client, calls: Counter[str]) -> None:
        self.namespace = client.namespace
        self.workflow_service = CountingService(client.workflow_service, calls)


async def test_health_makes_one_rpc_per_interval_and_writes_nothing(
    temporal_client: Client, task_queue: str, tmp_path: Path
) -> None:
    calls: Counter[str] = Counter()

    async def connector() -> Client:
        return cast(Client, CountingClient(temporal_client, calls))

    settings = Settings.model_validate(
        {"output_dir": tmp_path / "runs", "temporal": {"task_queue": task_queue}}
    )
    app = create_app(settings, gateway=TemporalGateway(settings, connector))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        burst = [await http.get("/health") for _ in range(5)]
        after_burst = sum(calls.values())
        await asyncio.sleep(HEALTH_TTL_SECONDS + 0.2)
        later = await http.get("/health")
    assert [r.status_code for r in burst] == [503] * 5  # no worker polls this queue
    body = burst[0].json()
    assert body["temporal"]["ok"] is True
    assert body["workers"] == {"ok": False, "detail": f"no worker polls task queue {task_queue}"}
    assert body["output_dir"]["ok"] is True
    assert "does not exist yet" in body["output_dir"]["detail"]
    assert after_burst == 1
    assert sum(calls.values()) == 2
    assert set(calls) == {"describe_task_queue"}
    assert later.status_code == 503
    assert names(tmp_path) == []  # no probe file, no output folder created


async def test_an_output_folder_behind_a_file_is_unhealthy(
    temporal_client: Client, task_queue: str, tmp_path: Path
) -> None:
    (tmp_path / "occupied.txt").write_text("not a folder")
    settings = Settings.model_validate(
        {"output_dir": tmp_path / "occupied.txt" / "runs", "temporal": {"task_queue": task_queue}}
    )

    async def connector() -> Client:
        return temporal_client

    app = create_app(settings, gateway=TemporalGateway(settings, connector))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        response = await http.get("/health")
    assert response.status_code == 503
    check = response.json()["output_dir"]
    assert check["ok"] is False
    assert "occupied.txt is not a directory" in check["detail"]
    assert names(tmp_path) == ["occupied.txt"]


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())
