"""A seeded, realistic Toggl + Fibery workspace for the sandbox simulators.

``generate_workspace(spec)`` is a pure function of the spec: it uses one
``random.Random(spec.seed)`` and never reads the clock, so the same spec always yields the
same workspace. Time entries are laid out in each user's working hours in their own time
zone; about ``matched_share`` of them reference a Fibery entity in the integration's format
``<name> #<public id> [<space>] [<type>] [<project>]``, some of those entities are deleted
(``Workspace.deleted_refs``), the rest are meetings, reviews and admin.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from volt_agent.sandbox import _text
from volt_agent.sandbox._closing_dates import place_closing_dates
from volt_agent.sandbox._entries import INTERNAL_PROJECTS, EntryPlanner, UserProfile
from volt_agent.sandbox._fibery_data import TYPE_WEIGHTS, EntityBuilder, EntitySeed, random_uuid
from volt_agent.sandbox.records import (
    DeletedRef,
    TimeEntryRecord,
    TogglProjectRecord,
    TogglUserRecord,
)

TIMEZONES: tuple[tuple[str, int, float], ...] = (
    ("Europe/Berlin", 60, 3.0),
    ("Europe/Kyiv", 120, 2.0),
    ("Europe/London", 0, 1.5),
    ("Europe/Lisbon", 0, 0.5),
    ("America/New_York", -300, 1.5),
    ("America/Los_Angeles", -480, 1.0),
    ("America/Sao_Paulo", -180, 0.7),
    ("Asia/Kolkata", 330, 1.0),
    ("Asia/Kathmandu", 345, 0.3),
    ("Asia/Tokyo", 540, 0.7),
    ("Australia/Sydney", 660, 0.5),
    ("UTC", 0, 0.3),
    ("Pacific/Tongatapu", 780, 0.2),
)
"""IANA name, fallback UTC offset in minutes (used only without tz data), weight."""

ANCHOR_ZONES = ("Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Tongatapu")
"""Zones of the first working users (the token's user first): UTC+1, UTC-8, UTC+5:30 and
UTC+13 in November, so any workspace of four or more users spans the date line; the other
users draw theirs from ``TIMEZONES``."""

PRODUCT_PROJECTS = ("Moneyball", "Atlas", "Helios", "Nova", "Orion", "Zephyr")
INACTIVE_PROJECT = "Legacy"


@dataclass(frozen=True)
class WorkspaceSpec:
    """Size and shape of a generated workspace; ``seed`` alone decides the content."""

    users: int = 12
    start_date: date = date(2026, 11, 16)
    days: int = 7
    seed: int = 42
    matched_share: float = 0.7
    deleted_share: float = 0.03

    def __post_init__(self) -> None:
        if self.users < 1 or self.days < 1:
            raise ValueError("a workspace needs at least one user and one day")
        if not (0.0 <= self.matched_share <= 1.0 and 0.0 <= self.deleted_share <= 1.0):
            raise ValueError("matched_share and deleted_share are fractions in [0, 1]")


@dataclass
class Workspace:
    """Everything both simulators serve. The first Toggl user owns the API token (``/me``)."""

    spec: WorkspaceSpec
    workspace_id: int
    toggl_users: list[TogglUserRecord]
    toggl_projects: list[TogglProjectRecord]
    time_entries: list[TimeEntryRecord]
    fibery_entities: dict[str, list[dict[str, Any]]]
    fibery_users: list[dict[str, Any]]
    documents: dict[str, str]
    deleted_refs: list[DeletedRef] = field(default_factory=list)
    """Entities deleted from Fibery; at least one time entry references one of them."""

    @property
    def me(self) -> TogglUserRecord:
        return self.toggl_users[0]

    def entry_count_by_user(self) -> dict[int, int]:
        counts = dict.fromkeys((user.id for user in self.toggl_users), 0)
        for entry in self.time_entries:
            counts[entry.user_id] += 1
        return counts


def _zone(name: str, fallback_minutes: int) -> tzinfo:
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return timezone(timedelta(minutes=fallback_minutes), name)


class _Generator:
    def __init__(self, spec: WorkspaceSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.documents: dict[str, str] = {}

    def new_secret(self) -> str:
        secret = random_uuid(self.rng)
        while secret in self.documents:
            secret = random_uuid(self.rng)
        return secret

    def run(self) -> Workspace:
        rng = self.rng
        workspace_id = rng.randint(1_000_000, 9_999_999)
        users, profiles = self._users()
        fibery_users = self._fibery_users(users)
        projects = self._projects()
        project_ids = {project.name: project.id for project in projects}
        seeds, deleted = self._entity_seeds(profiles, len(fibery_users))
        period_start = datetime.combine(self.spec.start_date, time(0), tzinfo=UTC)
        builder = EntityBuilder(
            rng, fibery_users, self.documents, self.new_secret, period_start, self.spec.days
        )
        entities: dict[str, list[dict[str, Any]]] = {key: [] for key in TYPE_WEIGHTS}
        for seed in seeds:
            entities[seed.type_key].append(builder.build(seed))
        entries = self._entries(users, profiles, seeds, deleted, project_ids)
        place_closing_dates(entities, entries, self.spec.seed, self.spec.start_date, self.spec.days)
        return Workspace(
            spec=self.spec,
            workspace_id=workspace_id,
            toggl_users=users,
            toggl_projects=projects,
            time_entries=entries,
            fibery_entities=entities,
            fibery_users=fibery_users,
            documents=self.documents,
            deleted_refs=[DeletedRef(d.type_key, d.public_id, d.name) for d in deleted],
        )

    def _users(self) -> tuple[list[TogglUserRecord], list[UserProfile]]:
        rng, count = self.rng, self.spec.users
        idle_count = max(1, round(count * 0.06)) if count >= 4 else 0
        idle = set(rng.sample(range(1, count), idle_count)) if idle_count else set()
        users: list[TogglUserRecord] = []
        profiles: list[UserProfile] = []
        emails: set[str] = set()
        user_id = rng.randint(5_000_000, 8_000_000)
        working = [index for index in range(count) if index not in idle]
        anchors = dict(zip(working, ANCHOR_ZONES, strict=False))
        fallback = {zone: minutes for zone, minutes, _ in TIMEZONES}
        for index in range(count):
            first, first_ascii = rng.choice(_text.FIRST_NAMES)
            last, last_ascii = rng.choice(_text.LAST_NAMES)
            email = f"{first_ascii}.{last_ascii}@volt.example"
            if email in emails:
                email = f"{first_ascii}.{last_ascii}{index}@volt.example"
            emails.add(email)
            name, offset, _ = rng.choices(TIMEZONES, [w for _, _, w in TIMEZONES])[0]
            if index in anchors:
                name = anchors[index]
                offset = fallback[name]
            user_id += rng.randint(1, 5000)
            users.append(TogglUserRecord(user_id, email, f"{first} {last}", name))
            profiles.append(
                UserProfile(
                    index=index,
                    zone=_zone(name, offset),
                    start_minute=rng.randint(450, 630),
                    daily_minutes=rng.randint(360, 540),
                    late_owl=index % 6 == 3 or rng.random() < 0.08,
                    weekend_worker=rng.random() < 0.15,
                    idle=index in idle,
                )
            )
        return users, profiles

    def _fibery_users(self, users: list[TogglUserRecord]) -> list[dict[str, Any]]:
        """Fibery user ``i`` is Toggl user ``i`` (a few spell their name or email differently);
        the extra ones at the end have no Toggl account."""
        rng = self.rng
        fibery_users: list[dict[str, Any]] = []
        for user in users:
            name, email = user.fullname, user.email
            roll = rng.random()
            if roll < 0.08:
                email = email.replace("@volt.example", "@volt-corp.example")
            elif roll < 0.12:
                name = name.split(" ", 1)[0]
            fibery_users.append(
                {"fibery/id": random_uuid(rng), "user/name": name, "user/email": email}
            )
        for name, email in (("Product Owner", "po@volt.example"), ("QA Bot", "qa@volt.example")):
            fibery_users.append(
                {"fibery/id": random_uuid(rng), "user/name": name, "user/email": email}
            )
        return fibery_users

    def _projects(self) -> list[TogglProjectRecord]:
        rng = self.rng
        project_id = rng.randint(150_000_000, 190_000_000)
        projects: list[TogglProjectRecord] = []
        for name in (*PRODUCT_PROJECTS, *INTERNAL_PROJECTS, INACTIVE_PROJECT):
            project_id += rng.randint(1, 90_000)
            projects.append(TogglProjectRecord(project_id, name, active=name != INACTIVE_PROJECT))
        return projects

    def _entity_seeds(
        self, profiles: list[UserProfile], fibery_count: int
    ) -> tuple[list[EntitySeed], list[EntitySeed]]:
        """Entities to serve and entities deleted from Fibery (some entries still name them)."""
        rng, spec = self.rng, self.spec
        total = max(30, round(spec.users * spec.days * 0.7))
        active = [p.index for p in profiles if not p.idle] or [0]
        outsiders = range(len(profiles), fibery_count)
        seeds: list[EntitySeed] = []
        for type_key, weight in TYPE_WEIGHTS.items():
            public_id = rng.randint(20, 3000)
            kind = type_key.split("/", 1)[1]
            for _ in range(max(2, round(total * weight))):
                public_id += rng.choice((1, 1, 1, 2, 5))
                owner = rng.choice(active)
                roll = rng.random()
                if roll < 0.08:
                    assignees: tuple[int, ...] = ()
                elif roll < 0.14:
                    assignees = (rng.choice(outsiders),)
                elif roll < 0.3:
                    assignees = (owner, rng.randrange(len(profiles)))
                else:
                    assignees = (owner,)
                project = rng.choices(PRODUCT_PROJECTS, (5, 3, 2, 1, 1, 1))[0]
                seeds.append(
                    EntitySeed(
                        type_key,
                        str(public_id),
                        _text.entity_name(rng, kind),
                        project,
                        tuple(dict.fromkeys(assignees)),
                        owner,
                    )
                )
        deleted_count = round(len(seeds) * spec.deleted_share)
        if spec.deleted_share > 0:
            deleted_count = max(1, deleted_count)
        deleted_positions = set(rng.sample(range(len(seeds)), deleted_count))
        served = [s for i, s in enumerate(seeds) if i not in deleted_positions]
        deleted = [s for i, s in enumerate(seeds) if i in deleted_positions]
        return served, deleted

    def _entries(
        self,
        users: list[TogglUserRecord],
        profiles: list[UserProfile],
        seeds: list[EntitySeed],
        deleted: list[EntitySeed],
        project_ids: dict[str, int],
    ) -> list[TimeEntryRecord]:
        owned: dict[int, list[EntitySeed]] = defaultdict(list)
        for seed in seeds:
            owned[seed.owner].append(seed)
        planner = EntryPlanner(
            self.rng,
            spec=self.spec,
            seeds=seeds,
            deleted=deleted,
            owned=owned,
            project_ids=project_ids,
        )
        return planner.plan(users, profiles)


def generate_workspace(spec: WorkspaceSpec | None = None) -> Workspace:
    """Build the workspace ``spec`` describes; identical specs give identical workspaces."""
    return _Generator(spec or WorkspaceSpec()).run()
