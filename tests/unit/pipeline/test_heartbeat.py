import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from volt_agent.pipeline.heartbeat import keeps_heartbeating


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
