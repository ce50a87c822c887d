"""Each person's days are their local days: a team in four zones, entries near midnight on both
edges of the range, the real workflow on a real Temporal dev server against the simulators,
under both readings of Toggl's date filter (each creator's zone, or the token user's zone)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import Client

from tests.integration.pipeline_env import pipeline_env
from tests.unit.reporting.mdtables import table
from volt_agent.domain.local_time import local_date
from volt_agent.domain.models import RawTogglData, TogglAggregated
from volt_agent.sandbox import (
    TimeEntryRecord,
    TogglSimulatorOptions,
    TogglUserRecord,
    Workspace,
    WorkspaceSpec,
    generate_workspace,
)
from volt_agent.storage.run_folder import (
    RAW_TOGGL,
    TEAM_SUMMARY,
    TOGGL_AGGREGATED,
    TOGGL_SUMMARY,
    user_slug,
)

pytestmark = pytest.mark.integration

START, END = date(2026, 11, 17), date(2026, 11, 19)
ZONES = ("Pacific/Tongatapu", "America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata")
"""UTC+13 (the token's user), UTC-8, UTC+1, UTC+5:30 in November 2026."""
EDGES: tuple[tuple[str, date, time, int, bool], ...] = (
    ("before", START - timedelta(days=1), time(23, 50), 5, False),
    ("first", START, time(0, 10), 20, True),
    ("middle", START + timedelta(days=1), time(12, 0), 60, True),
    ("late", END, time(23, 30), 45, True),  # runs past the person's midnight
    ("last", END, time(23, 55), 4, True),
    ("after", END + timedelta(days=1), time(0, 10), 30, False),
)
"""Name, local date, local start time, minutes, inside the range."""


@dataclasses.dataclass(frozen=True)
class Planned:
    entry: TimeEntryRecord
    zone: str
    label: str
    local_day: date
    inside: bool


@cache
def team() -> tuple[Workspace, tuple[Planned, ...]]:
    base = generate_workspace(WorkspaceSpec(users=4, days=2, seed=9))
    users = [
        dataclasses.replace(user, timezone=zone)
        for user, zone in zip(base.toggl_users, ZONES, strict=True)
    ]
    type_key, records = next((k, v) for k, v in base.fibery_entities.items() if v)
    space, kind = type_key.split("/")
    public_id = records[0]["fibery/public-id"]
    planned: list[Planned] = []
    entry_id = 4_000_000_000
    for user in users:
        for label, day, clock, minutes, inside in EDGES:
            entry_id += 1
            start = datetime.combine(day, clock, tzinfo=ZoneInfo(user.timezone))
            stop = start + timedelta(minutes=minutes)
            matched = label in ("first", "late")
            description = (
                f"Edge {label} #{public_id} [{space}] [{kind}] [Atlas]"
                if matched
                else (f"Edge {label}")
            )
            record = TimeEntryRecord(
                id=entry_id,
                user_id=user.id,
                description=description,
                project_id=None,
                task_id=None,
                billable=False,
                tag_ids=(),
                start=start,
                stop=stop,
                seconds=minutes * 60,
                at=stop + timedelta(minutes=1),
            )
            planned.append(Planned(record, user.timezone, label, day, inside))
    ws = dataclasses.replace(
        base, toggl_users=users, time_entries=[p.entry for p in planned], deleted_refs=[]
    )
    return ws, tuple(planned)


def by_user(users: list[TogglUserRecord]) -> dict[int, TogglUserRecord]:
    return {u.id: u for u in users}


@pytest.mark.parametrize("reading", ["creator", "token_user"])
async def test_every_entry_lands_on_its_owners_local_day(
    temporal_client: Client, tmp_path: Path, reading: str
) -> None:
    ws, planned = team()
    toggl = TogglSimulatorOptions(date_filter_zone=reading)  # type: ignore[arg-type]
    async with pipeline_env(temporal_client, tmp_path, ws=ws, toggl=toggl) as env:
        folder, meta = await env.run(start_date=START.isoformat(), end_date=END.isoformat())
    assert meta.status == "completed", meta.error

    raw = folder.load(RAW_TOGGL, RawTogglData)
    inside = {p.entry.id for p in planned if p.inside}
    assert {e.id for e in raw.entries} == inside
    fetched = meta.statistics["toggl"]
    assert fetched["statistics"]["outside_range_dropped"] == len(planned) - len(inside)
    assert fetched["completeness"]["agreed"] is True
    assert fetched["completeness"]["expected_seconds"] == sum(p.entry.seconds for p in planned)
    assert (raw.fetch_start_date, raw.fetch_end_date) == (
        START - timedelta(days=1),
        END + timedelta(days=1),
    )
    assert {u.id: (u.timezone, u.timezone_source) for u in raw.users} == {
        u.id: (u.timezone, "config") for u in ws.toggl_users
    }

    aggregated = folder.load(TOGGL_AGGREGATED, TogglAggregated)
    local_days = {p.entry.id: p.local_day for p in planned}
    for user in aggregated.users:
        assert user.timezone == by_user(ws.toggl_users)[user.user_id].timezone
        refs = [r for m in user.matched for r in m.entries] + [
            r for a in user.unmatched for r in a.entries
        ]
        assert {r.id: r.start.date() for r in refs} == {r.id: local_days[r.id] for r in refs}
        assert {r.id: local_date(r.start, user.timezone) for r in refs} == {
            r.id: local_days[r.id] for r in refs
        }

        report = folder.file(folder.individual_report(user_slug(user.user_name, user.user_id)))
        text = report.read_text()
        assert f"days are dates of entry starts in {user.timezone}" in text
        rows = table(text, f"## Time by day ({user.timezone})")
        own = [p for p in planned if p.inside and p.entry.user_id == user.user_id]
        expected: dict[str, int] = {}
        for p in own:
            expected[p.local_day.isoformat()] = expected.get(p.local_day.isoformat(), 0) + (
                p.entry.seconds
            )
        assert {r["Day"].split()[0]: r["Hours"] for r in rows} == {
            day: f"{seconds / 3600:.2f}" for day, seconds in expected.items()
        }
    for name in (TOGGL_SUMMARY, TEAM_SUMMARY):
        assert "days are each person's local days" in folder.file(name).read_text()


async def test_without_configured_zones_everyone_reads_days_in_the_default_zone(
    temporal_client: Client, tmp_path: Path
) -> None:
    """Toggl tells only the token user's own zone: without ``toggl.timezones`` everyone's days
    are read in the default zone (the token user's, UTC+13 here), as the README says."""
    ws, planned = team()
    token_zone = ws.me.timezone
    async with pipeline_env(temporal_client, tmp_path, ws=ws, toggl__timezones={}) as env:
        folder, meta = await env.run(start_date=START.isoformat(), end_date=END.isoformat())
    assert meta.status == "completed", meta.error
    raw = folder.load(RAW_TOGGL, RawTogglData)
    assert raw.default_timezone == token_zone
    assert meta.statistics["toggl"]["configured_timezones"] == 0
    sources = {u.id: (u.timezone, u.timezone_source) for u in raw.users}
    assert sources[ws.me.id] == (token_zone, "toggl_profile")
    assert {v for k, v in sources.items() if k != ws.me.id} == {(token_zone, "default")}
    in_default_zone = {
        p.entry.id for p in planned if START <= local_date(p.entry.start, token_zone) <= END
    }
    assert {e.id for e in raw.entries} == in_default_zone
    west = by_user(ws.toggl_users)
    late_in_la = next(
        p.entry.id
        for p in planned
        if p.label == "last" and west[p.entry.user_id].timezone == "America/Los_Angeles"
    )
    assert late_in_la not in in_default_zone  # 23:55 in LA is the next day in Tonga
