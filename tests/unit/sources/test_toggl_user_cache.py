"""``/me`` and the workspace users are cached for ``toggl.user_cache_seconds`` only, so a
long-lived worker learns of a new hire without a restart (review C3)."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr

from tests.unit.sources.fakes import TOKEN, FakeSleep, Recorder
from tests.unit.sources.test_toggl import USERS, WID, FakeToggl
from volt_agent.config import HttpSettings, TogglSettings
from volt_agent.sources.toggl import TogglClient

NEW_HIRE = {"id": 9, "email": "new@example.com", "fullname": "New Hire"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class GrowingTeam(FakeToggl):
    def __init__(self) -> None:
        super().__init__([])
        self.users: list[dict[str, Any]] = list(USERS)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == f"/api/v9/workspaces/{WID}/users":
            return httpx.Response(200, json=self.users)
        return super().__call__(request)


def client_of(
    recorder: Recorder, clock: Clock, fake_sleep: FakeSleep, **settings: Any
) -> TogglClient:
    toggl = TogglSettings(workspace_id=WID, requests_per_second=1000, **settings)
    return TogglClient(
        recorder.client(), toggl, HttpSettings(), SecretStr(TOKEN), sleep=fake_sleep, clock=clock
    )


async def test_a_new_hire_appears_once_the_cache_expires(fake_sleep: FakeSleep) -> None:
    team, clock = GrowingTeam(), Clock()
    client = client_of(Recorder(team), clock, fake_sleep, user_cache_seconds=300)
    assert [u.id for u in await client.workspace_users()] == [1, 2, 3]
    me = await client.me()
    team.users.append(NEW_HIRE)
    clock.now += 299
    assert [u.id for u in await client.workspace_users()] == [1, 2, 3]
    assert await client.me() is me
    assert client.stats.by_endpoint == {"workspace_users": 1, "me": 1}
    clock.now += 1
    assert [u.id for u in await client.workspace_users()] == [1, 2, 3, 9]
    assert await client.me() is not me
    assert client.stats.by_endpoint == {"workspace_users": 2, "me": 2}
    await client.aclose()


async def test_zero_reads_them_on_every_call(fake_sleep: FakeSleep) -> None:
    team, clock = GrowingTeam(), Clock()
    client = client_of(Recorder(team), clock, fake_sleep, user_cache_seconds=0)
    await client.workspace_users()
    await client.workspace_users()
    assert client.stats.by_endpoint == {"workspace_users": 2}
    await client.aclose()


def test_the_default_is_a_few_minutes() -> None:
    assert TogglSettings().user_cache_seconds == 300
