import json
import time

import httpx
import pytest

from volt_agent.sandbox import (
    FaultPlan,
    FaultRule,
    FiberySimulatorOptions,
    SimulatedDrop,
    TogglSimulatorOptions,
    Workspace,
    create_fibery_app,
    create_toggl_app,
)

from ._helpers import fibery_client, toggl_client


def toggl_with(workspace: Workspace, *rules: FaultRule, seed: int = 0) -> httpx.AsyncClient:
    options = TogglSimulatorOptions(faults=FaultPlan(rules, seed=seed))
    return toggl_client(create_toggl_app(workspace, options))


def search(workspace: Workspace) -> tuple[str, dict[str, object]]:
    path = f"/reports/api/v3/workspace/{workspace.workspace_id}/search/time_entries"
    return path, {"start_date": "2026-11-16", "end_date": "2026-11-22", "page_size": 5}


async def test_status_fault_on_the_first_requests_only(workspace: Workspace) -> None:
    rule = FaultRule("status", "toggl.me", status=503, first_n=2)
    async with toggl_with(workspace, rule) as client:
        statuses = [(await client.get("/api/v9/me")).status_code for _ in range(3)]
        projects = await client.get(f"/api/v9/workspaces/{workspace.workspace_id}/projects")
    assert statuses == [503, 503, 200]
    assert projects.status_code == 200


async def test_every_nth_request_fails(workspace: Workspace) -> None:
    rule = FaultRule("status", "toggl.*", status=502, every_n=3)
    async with toggl_with(workspace, rule) as client:
        statuses = [(await client.get("/api/v9/me")).status_code for _ in range(6)]
    assert statuses == [200, 200, 502, 200, 200, 502]


async def test_probability_is_seeded(workspace: Workspace) -> None:
    async def pattern(seed: int) -> list[int]:
        rule = FaultRule("status", status=500, probability=0.5)
        async with toggl_with(workspace, rule, seed=seed) as client:
            return [(await client.get("/api/v9/me")).status_code for _ in range(30)]

    first, again, other = await pattern(1), await pattern(1), await pattern(2)
    assert first == again
    assert first != other
    assert 5 < first.count(500) < 25


async def test_injected_429_and_402_carry_their_headers(workspace: Workspace) -> None:
    rules = (
        FaultRule("status", "toggl.me", status=429, retry_after=2.5, first_n=1),
        FaultRule("status", "toggl.projects", status=402, retry_after=120, first_n=1),
    )
    async with toggl_with(workspace, *rules) as client:
        limited = await client.get("/api/v9/me")
        quota = await client.get(f"/api/v9/workspaces/{workspace.workspace_id}/projects")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    assert quota.status_code == 402
    assert quota.headers["X-Toggl-Quota-Remaining"] == "0"
    assert quota.headers["X-Toggl-Quota-Resets-In"] == "120"


async def test_fibery_status_faults_answer_json(workspace: Workspace) -> None:
    options = FiberySimulatorOptions(faults=FaultPlan((FaultRule("status", "fibery.*"),)))
    async with fibery_client(create_fibery_app(workspace, options)) as client:
        response = await client.post("/api/commands", json=[])
    assert response.status_code == 503
    assert "fault" in response.json()["message"]


async def test_malformed_json_keeps_status_and_pagination_headers(workspace: Workspace) -> None:
    path, body = search(workspace)
    rule = FaultRule("malformed_json", "toggl.search_time_entries", first_n=1)
    async with toggl_with(workspace, rule) as client:
        broken = await client.post(path, json=body)
        intact = await client.post(path, json=body)
    assert broken.status_code == 200
    assert broken.headers["content-type"] == "application/json"
    assert broken.headers["X-Next-ID"] == intact.headers["X-Next-ID"]
    with pytest.raises(json.JSONDecodeError):
        broken.json()
    assert intact.content.startswith(broken.content)


async def test_drop_raises_a_protocol_error_in_process(workspace: Workspace) -> None:
    async with toggl_with(workspace, FaultRule("drop", "toggl.me", first_n=1)) as client:
        with pytest.raises(httpx.RemoteProtocolError) as raised:
            await client.get("/api/v9/me")
        after = await client.get("/api/v9/me")
    assert isinstance(raised.value, SimulatedDrop)
    assert after.status_code == 200


async def test_slow_and_latency_delay_answers(workspace: Workspace) -> None:
    options = TogglSimulatorOptions(
        latency_seconds=(0.01, 0.02),
        faults=FaultPlan((FaultRule("slow", "toggl.me", delay_seconds=0.1, first_n=1),)),
    )
    async with toggl_client(create_toggl_app(workspace, options)) as client:
        started = time.perf_counter()
        slow = await client.get("/api/v9/me")
        slow_took = time.perf_counter() - started
        started = time.perf_counter()
        await client.get("/api/v9/me")
        normal_took = time.perf_counter() - started
    assert slow.status_code == 200
    assert slow_took >= 0.11
    assert 0.01 <= normal_took < slow_took


async def test_faults_are_counted(workspace: Workspace) -> None:
    options = TogglSimulatorOptions(
        faults=FaultPlan(
            (
                FaultRule("slow", "toggl.me", delay_seconds=0, first_n=1),
                FaultRule("status", "toggl.me", status=500, first_n=1),
                FaultRule("malformed_json", "toggl.me", every_n=2),
            )
        )
    )
    app = create_toggl_app(workspace, options)
    async with toggl_client(app) as client:
        for _ in range(4):
            await client.get("/api/v9/me")
    stats = app.state.stats.snapshot()
    assert stats["toggl.me"] == 4
    assert stats["faulted.slow"] == 1
    assert stats["faulted.status"] == 1
    assert stats["faulted.malformed_json"] == 2
    assert stats["faulted"] == 4
    assert stats["status.500"] == 1


async def test_stats_endpoint_is_never_faulted_nor_counted(workspace: Workspace) -> None:
    app = create_toggl_app(
        workspace, TogglSimulatorOptions(faults=FaultPlan((FaultRule("status", "*"),)))
    )
    async with toggl_client(app, token="wrong") as client:
        response = await client.get("/_sandbox/stats")
    assert response.status_code == 200
    assert response.json()["requests"] == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"first_n": 1, "every_n": 2},
        {"every_n": 0},
        {"probability": 1.5},
        {"status": 99},
        {"first_n": -1},
        {"delay_seconds": -1},
    ],
)
def test_rules_reject_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must|at most"):
        FaultRule("status", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"latency_seconds": (0.2, 0.1)},
        {"latency_seconds": (-1.0, 0.0)},
        {"requests_per_second": 0.0},
        {"burst": 0},
        {"max_page_size": 0},
        {"hourly_quota": -1},
    ],
)
def test_options_reject_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        TogglSimulatorOptions(**kwargs)  # type: ignore[arg-type]
