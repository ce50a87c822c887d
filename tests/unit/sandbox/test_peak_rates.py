"""The simulators record the peak request rate over 1 s and 10 s, per token and in total."""

from __future__ import annotations

import hashlib

from volt_agent.sandbox import FiberySimulatorOptions, Workspace
from volt_agent.sandbox.fibery_sim import create_fibery_app
from volt_agent.sandbox.stats import RequestStats

from ._helpers import FIBERY_TOKEN, FakeClock, fibery_client


def token_key(authorization: str) -> str:
    return f".token.{hashlib.sha256(authorization.encode()).hexdigest()[:8]}"


def test_peaks_are_the_most_requests_in_any_window() -> None:
    clock = FakeClock()
    stats = RequestStats(clock=clock)
    for _ in range(3):  # 3 within one second
        stats.request_sent("Token a")
        clock.advance(0.2)
    clock.advance(1.0)
    for _ in range(5):  # then 5 at 0.5 s: at most 2 in any second, 8 within 10 s
        stats.request_sent("Token b")
        clock.advance(0.5)

    snapshot = stats.snapshot()
    assert (snapshot["peak_1s"], snapshot["peak_10s"]) == (3, 8)
    assert snapshot["peak_1s" + token_key("Token a")] == 3
    assert snapshot["peak_1s" + token_key("Token b")] == 2
    assert snapshot["peak_10s" + token_key("Token b")] == 5
    assert not any("Token" in key for key in snapshot)


def test_a_window_is_half_open_and_old_requests_leave_it() -> None:
    clock = FakeClock()
    stats = RequestStats(clock=clock)
    for _ in range(4):  # exactly 1 s apart: never two in one 1 s window
        stats.request_sent("Token a")
        clock.advance(1.0)
    clock.advance(20)
    stats.request_sent("Token a")
    assert (stats.snapshot()["peak_1s"], stats.snapshot()["peak_10s"]) == (1, 4)
    stats.reset()
    assert "peak_1s" not in stats.snapshot()


async def test_the_fibery_simulator_reports_peaks_and_refusals(workspace: Workspace) -> None:
    app = create_fibery_app(workspace, FiberySimulatorOptions(requests_per_second=1.0))
    async with fibery_client(app) as client:
        answers = [
            (await client.post("/api/commands", json=[{"command": "fibery.schema/query"}]))
            for _ in range(3)
        ]
    stats = app.state.stats.snapshot()
    refused = sum(a.status_code == 429 for a in answers)
    assert refused >= 1
    assert stats["status.429"] == refused
    assert stats["peak_1s"] == 3
    assert stats["peak_1s" + token_key(f"Token {FIBERY_TOKEN}")] == 3
