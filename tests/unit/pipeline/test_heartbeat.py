import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from volt_agent.pipeline.heartbeat import checkpoint_heartbeat, keeps_heartbeating, longest_wait


@keeps_heartbeating
async def slow(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "done"


@keeps_heartbeating
async def failing() -> None:
    await asyncio.sleep(0.3)
    raise RuntimeError("boom")


def environment(
    *, is_local: bool = False, timeout: float | None = 1.5
) -> tuple[ActivityEnvironment, list[Any]]:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info,
        is_local=is_local,
        heartbeat_timeout=timedelta(seconds=timeout) if timeout else None,
    )
    beats: list[Any] = []
    env.on_heartbeat = lambda *details: beats.append(details)
    return env, beats


async def test_heartbeats_every_third_of_the_timeout_while_running() -> None:
    env, beats = environment(timeout=1.5)
    assert await env.run(slow, 1.3) == "done"
    assert 2 <= len(beats) <= 3


async def test_stops_heartbeating_when_the_activity_fails() -> None:
    env, beats = environment(timeout=1.5)
    with pytest.raises(RuntimeError, match="boom"):
        await env.run(failing)
    count = len(beats)
    await asyncio.sleep(0.7)
    assert len(beats) == count


@pytest.mark.parametrize(("is_local", "heartbeat_timeout"), [(True, 1.5), (False, None)])
async def test_no_heartbeats_for_local_activities_or_without_a_timeout(
    is_local: bool, heartbeat_timeout: float | None
) -> None:
    env, beats = environment(is_local=is_local, timeout=heartbeat_timeout)
    assert await env.run(slow, 0.7) == "done"
    assert beats == []


async def checkpointing(first_wait: float, second_wait: float) -> float:
    """Waits, checkpoints "page 1", waits again; returns its longest single wait allowed."""
    async with checkpoint_heartbeat() as heartbeat:
        await asyncio.sleep(first_wait)
        heartbeat.beat({"pages": 1})
        await asyncio.sleep(second_wait)
    return longest_wait(60.0)


async def test_the_latest_checkpoint_is_re_sent_through_a_long_wait() -> None:
    """Until its first checkpoint the attempt re-sends the one it resumed from (never an
    empty heartbeat that would lose it), then its own, through a wait 2x the timeout."""
    env, beats = environment(timeout=1.5)
    env.info = dataclasses.replace(env.info, heartbeat_details=[{"pages": 0}])
    assert await env.run(checkpointing, 1.1, 3.0) == pytest.approx(1.2)
    assert beats[0] == ({"pages": 0},)
    assert all(b in (({"pages": 0},), ({"pages": 1},)) for b in beats)
    resent = [b for b in beats if b == ({"pages": 1},)]
    assert len(resent) >= 4  # the beat itself, then every 0.5 s through the 3 s wait
    count = len(beats)
    await asyncio.sleep(0.7)
    assert len(beats) == count


async def test_no_checkpoint_ticker_without_a_heartbeat_timeout() -> None:
    env, beats = environment(timeout=None)
    assert await env.run(checkpointing, 0.6, 0.6) == 60.0
    assert beats == [({"pages": 1},)]
