"""The worker's event-loop probe: how long single callbacks blocked the loop, and in what."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from temporalio import activity

from volt_agent.pipeline.loop_probe import (
    GcPause,
    LoopProbe,
    Seen,
    Stall,
    gc_seconds_in,
    longest_stall,
    probing,
)


def block_the_loop(seconds: float) -> None:
    time.sleep(seconds)  # stands for a long JSON parse or fsync on the loop


async def test_a_150_ms_block_is_seen_as_at_least_150_ms_with_its_code(tmp_path: Path) -> None:
    path = tmp_path / "probe.json"
    async with probing(path) as probe:
        assert probe is not None
        await asyncio.sleep(0.01)
        block_the_loop(0.15)
        await asyncio.sleep(0.01)
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["max_block_ms"] >= 150
    longest = report["longest"]
    assert longest["seconds"] >= 0.15
    assert "block_the_loop" in longest["stack"][-1]
    assert "test_a_150_ms_block" in longest["callback"]
    assert longest["loop_cpu_seconds"] < longest["seconds"] / 2  # it slept, it did not compute
    assert report["callbacks"] >= 3


async def test_short_callbacks_are_counted_but_not_kept(tmp_path: Path) -> None:
    async with probing(tmp_path / "probe.json") as probe:
        assert probe is not None
        for _ in range(20):
            await asyncio.sleep(0)
    assert probe.callbacks >= 19  # every resumption but the last, still running here
    assert probe.stalls == []
    assert 0 < probe.max_block < probe.record_over


async def test_the_probe_is_removed_afterwards(tmp_path: Path) -> None:
    original = asyncio.Handle._run
    async with probing(tmp_path / "probe.json"):
        assert asyncio.Handle._run is not original
    assert asyncio.Handle._run is original
    async with probing(None) as probe:
        assert probe is None


async def test_a_stall_names_the_temporal_activity_it_ran_for(tmp_path: Path) -> None:
    info = SimpleNamespace(activity_type="aggregate_toggl_data")
    fake_context: Any = SimpleNamespace(info=lambda: info)

    async def an_activity() -> None:
        activity._current_context.set(fake_context)
        await asyncio.sleep(0)  # the next step runs in the task's context, which has it
        block_the_loop(0.05)

    async with probing(tmp_path / "probe.json") as probe:
        assert probe is not None
        await asyncio.create_task(an_activity())
    (stall,) = probe.stalls
    assert stall.activity == "aggregate_toggl_data"
    assert "an_activity" in stall.callback


def test_record_keeps_callbacks_over_the_threshold_and_the_maximum() -> None:
    probe = LoopProbe(record_over=0.02)
    probe.record(0.011, ended_at=100.0)
    seen = Seen("volt_agent/x.py:3 f", ["a", "volt_agent/x.py:3 f"], ["t.py:1 parse"])
    probe.record(0.3, ended_at=101.0, seen=seen, described=("enrich_scrum_task", "Task-3 run"))
    probe.record(0.05, ended_at=102.0)
    assert probe.callbacks == 3
    assert probe.max_block == 0.3
    assert [s.seconds for s in probe.stalls] == [0.3, 0.05]
    report = probe.report()
    assert report["max_block_ms"] == 300.0
    assert report["longest"]["where"] == "volt_agent/x.py:3 f"
    assert report["longest"]["activity"] == "enrich_scrum_task"
    assert report["longest"]["threads"] == ["t.py:1 parse"]


def test_longest_stall_counts_only_stalls_overlapping_the_window() -> None:
    stalls = [Stall(10.0, 0.5), Stall(20.2, 0.4), Stall(30.0, 0.2), Stall(40.0, 0.9)]
    # the 0.4 s stall began at 19.8, inside; the 0.9 s one began at 39.1, after the window
    assert longest_stall(stalls, 19.9, 39.0) == Stall(20.2, 0.4)
    assert longest_stall(stalls, 10.5, 19.0) is None
    assert longest_stall(stalls, 0.0, 100.0) == Stall(40.0, 0.9)


async def test_a_long_garbage_collection_is_recorded(tmp_path: Path) -> None:
    garbage = [[] for _ in range(300_000)]  # many tracked objects: a full collection is slow
    async with probing(tmp_path / "probe.json") as probe:
        assert probe is not None
        began = time.perf_counter()
        gc.collect()
        took = time.perf_counter() - began
    del garbage
    assert took > 0.005  # else the machine is too fast for this test's point
    assert any(p.generation == 2 and p.seconds <= took for p in probe.gc_pauses)
    assert probe.gc_collections >= 1
    assert 0 < probe.gc_seconds <= took + 0.5


def test_garbage_collection_inside_a_stall_is_summed() -> None:
    stall = Stall(ended_at=10.0, seconds=1.0)  # 9.0 .. 10.0
    pauses = [GcPause(9.2, 0.1, 2), GcPause(10.05, 0.1, 1), GcPause(20.0, 0.5, 2)]
    assert gc_seconds_in(stall, pauses) == pytest.approx(0.1 + 0.05)


def test_the_probe_costs_little_cpu_on_an_idle_loop() -> None:
    async def idle() -> float:
        began = time.process_time()
        async with probing(None):
            await asyncio.sleep(0.5)
        baseline = time.process_time() - began
        began = time.process_time()
        async with probing(Path("/dev/null")):
            await asyncio.sleep(0.5)
        return time.process_time() - began - baseline

    assert asyncio.run(idle()) < 0.02  # under 4 % of a core; measured: under 0.1 %
