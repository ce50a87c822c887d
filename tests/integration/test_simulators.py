"""Both simulators over real sockets, as volt-agent's clients and the demo use them."""

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from volt_agent.sandbox import (
    FaultPlan,
    FaultRule,
    FiberySimulatorOptions,
    ServedApp,
    SimulatedDrop,
    Simulators,
    TogglSimulatorOptions,
    Workspace,
    WorkspaceSpec,
    create_toggl_app,
    generate_workspace,
    run_simulators,
    serve_sandbox,
)

pytestmark = pytest.mark.integration

SPEC = WorkspaceSpec(users=6, days=5, seed=11)


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    return generate_workspace(SPEC)


@pytest.fixture(scope="module")
def simulators(workspace: Workspace) -> Iterator[Simulators]:
    with run_simulators(workspace) as running:
        yield running


def toggl(simulators: Simulators, **kwargs: Any) -> httpx.Client:
    return httpx.Client(
        base_url=simulators.toggl.base_url, auth=(simulators.toggl.token, "api_token"), **kwargs
    )


def fibery(simulators: Simulators) -> httpx.Client:
    return httpx.Client(
        base_url=simulators.fibery.base_url,
        headers={"Authorization": f"Token {simulators.fibery.token}"},
    )


def search_path(simulators: Simulators) -> str:
    return f"/reports/api/v3/workspace/{simulators.workspace_id}/search/time_entries"


def test_toggl_report_pages_over_a_socket(simulators: Simulators, workspace: Workspace) -> None:
    body: dict[str, Any] = {"start_date": "2026-11-10", "end_date": "2026-11-25", "page_size": 40}
    ids: list[int] = []
    simulators.toggl.reset_stats()
    with toggl(simulators) as client:
        while True:
            response = client.post(search_path(simulators), json=body)
            response.raise_for_status()
            ids += [e["id"] for row in response.json() for e in row["time_entries"]]
            assert response.headers["X-Page-Size"] == "40"
            assert response.headers["X-Range-Start"] == body["start_date"]
            assert response.headers["X-Range-End"] == body["end_date"]
            if "X-Next-Row-Number" not in response.headers:
                assert "X-Next-ID" not in response.headers
                break
            body["first_row_number"] = int(response.headers["X-Next-Row-Number"])
        totals = client.post(search_path(simulators) + "/totals", json=body).json()
    assert sorted(ids) == sorted(e.id for e in workspace.time_entries)
    assert totals["seconds"] == sum(e.seconds for e in workspace.time_entries)
    pages = -(-len(ids) // 40)
    stats = simulators.toggl.stats()
    assert stats["toggl.search_time_entries"] == pages
    assert stats["toggl.search_totals"] == 1


def test_fibery_query_and_documents_over_a_socket(
    simulators: Simulators, workspace: Workspace
) -> None:
    task = workspace.fibery_entities["Scrum/Task"][0]
    query = {
        "command": "fibery.entity/query",
        "args": {
            "query": {
                "q/from": "Scrum/Task",
                "q/select": {
                    "name": "Scrum/Name",
                    "secret": ["Scrum/Description", "Collaboration~Documents/secret"],
                },
                "q/where": ["q/in", ["fibery/public-id"], "$ids"],
                "q/limit": 500,
            },
            "params": {"$ids": [task["fibery/public-id"]]},
        },
    }
    before = simulators.fibery.stats()
    with fibery(simulators) as client:
        (answer,) = client.post("/api/commands", json=[query]).json()
        secret = answer["result"][0]["secret"]
        documents = client.post(
            "/api/documents/commands",
            params={"format": "md"},
            json={"command": "get-documents", "args": [{"secret": secret}]},
        ).json()
        over_http = httpx.get(f"{simulators.fibery.base_url}/_sandbox/stats").json()
    assert answer["result"][0]["name"] == task["Scrum/Name"]
    assert documents == [{"secret": secret, "content": workspace.documents[secret]}]
    assert over_http == simulators.fibery.stats()
    assert over_http["fibery.entity_query"] == before["fibery.entity_query"] + 1
    assert over_http["fibery.documents_commands"] == before["fibery.documents_commands"] + 1


def test_faults_seen_by_a_real_client(workspace: Workspace) -> None:
    toggl_faults = FaultPlan(
        (
            FaultRule("drop", "toggl.me", first_n=1),
            FaultRule("malformed_json", "toggl.projects", first_n=1),
            FaultRule("status", "toggl.workspace_users", status=429, retry_after=3, first_n=1),
            FaultRule("slow", "toggl.search_time_entries", delay_seconds=0.4, first_n=1),
        )
    )
    fibery_faults = FaultPlan((FaultRule("status", "fibery.commands", status=502, first_n=1),))
    with run_simulators(
        workspace,
        TogglSimulatorOptions(faults=toggl_faults),
        FiberySimulatorOptions(faults=fibery_faults),
    ) as sims:
        wid = sims.workspace_id
        with toggl(sims, timeout=httpx.Timeout(5.0, read=0.15)) as client:
            with pytest.raises(httpx.RemoteProtocolError) as dropped:
                client.get("/api/v9/me")
            assert not isinstance(dropped.value, SimulatedDrop)
            assert client.get("/api/v9/me").status_code == 200

            malformed = client.get(f"/api/v9/workspaces/{wid}/projects")
            assert malformed.status_code == 200
            with pytest.raises(json.JSONDecodeError):
                malformed.json()

            limited = client.get(f"/api/v9/workspaces/{wid}/users")
            assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")

            body = {"start_date": "2026-11-16", "end_date": "2026-11-16"}
            with pytest.raises(httpx.ReadTimeout):
                client.post(search_path(sims), json=body)
            assert client.post(search_path(sims), json=body).status_code == 200
        with fibery(sims) as client:
            assert client.post("/api/commands", json=[]).status_code == 502
            assert client.post("/api/commands", json=[]).status_code == 200
        stats = sims.toggl.stats()
        assert stats["faulted"] == 4
        assert stats["faulted.drop"] == 1
        assert sims.fibery.stats()["faulted.status"] == 1


def test_rate_limit_with_the_real_clock(workspace: Workspace) -> None:
    with (
        run_simulators(workspace, TogglSimulatorOptions(requests_per_second=1.0)) as sims,
        toggl(sims) as client,
    ):
        first = client.get("/api/v9/me")
        second = client.get("/api/v9/me")
    assert first.status_code == 200
    assert second.status_code == 429
    assert second.headers["Retry-After"] == "1"


def test_served_app_on_a_chosen_port(workspace: Workspace) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ServedApp(create_toggl_app(workspace), port=port)
    with server:
        assert server.base_url == f"http://127.0.0.1:{port}"
        assert httpx.get(f"{server.base_url}/_sandbox/stats").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/_sandbox/stats")
    with pytest.raises(RuntimeError):
        _ = server.base_url


def test_serve_sandbox_prints_env_and_stops_on_request() -> None:
    lines: list[str] = []
    ready = threading.Event()
    stop = threading.Event()

    def record(line: str) -> None:
        lines.append(line)
        if line.startswith("Press Ctrl+C"):
            ready.set()

    thread = threading.Thread(
        target=serve_sandbox,
        kwargs={
            "spec": WorkspaceSpec(users=3, days=2),
            "toggl_port": 0,
            "fibery_port": 0,
            "print_fn": record,
            "stop_event": stop,
        },
    )
    thread.start()
    try:
        assert ready.wait(timeout=20)
        env = dict(line.split("=", 1) for line in lines if line.split("=", 1)[0].isupper())
        me = httpx.get(
            f"{env['TOGGL_BASE_URL']}/api/v9/me", auth=(env["TOGGL_API_TOKEN"], "api_token")
        )
        assert me.json()["default_workspace_id"] == int(env["TOGGL_WORKSPACE_ID"])
        commands = httpx.post(
            f"{env['FIBERY_BASE_URL']}/api/commands",
            json=[{"command": "fibery.schema/query"}],
            headers={"Authorization": f"Token {env['FIBERY_API_TOKEN']}"},
        )
        assert commands.json()[0]["success"] is True
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()
