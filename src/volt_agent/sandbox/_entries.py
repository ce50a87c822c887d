"""Lays out Toggl time entries in each user's working hours, in their own time zone."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Literal

from volt_agent.sandbox import _text
from volt_agent.sandbox._fibery_data import EntitySeed
from volt_agent.sandbox.records import TimeEntryRecord, TogglUserRecord

if TYPE_CHECKING:
    from volt_agent.sandbox.workspace import WorkspaceSpec

EMPTY_SHARE = 0.008
LONG_SHARE = 0.004
LONG_MATCHED_SHARE = 0.002
OWN_WORK_SHARE = 0.85
LONG_MIN_CHARS = 1500
INTERNAL_PROJECTS = ("Internal", "Meetings")
EDGE_USERS = 4
"""Working users (the first ones: the anchored zones) given entries at the range's edges."""

EntryKind = Literal["matched", "deleted", "unmatched", "empty", "long"]


@dataclass(slots=True)
class UserProfile:
    """How one Toggl user works; ``start_minute`` is minutes after local midnight."""

    index: int
    zone: tzinfo
    start_minute: int
    daily_minutes: int
    late_owl: bool
    weekend_worker: bool
    idle: bool


@dataclass(slots=True)
class _Draft:
    user_index: int
    start: datetime
    stop: datetime
    description: str
    project_id: int | None
    kind: EntryKind
    crosses_midnight: bool


def reference(seed: EntitySeed, name: str | None = None) -> str:
    """The description the Fibery↔Toggl integration writes for an entity."""
    space, kind = seed.type_key.split("/", 1)
    return f"{name or seed.name} #{seed.public_id} [{space}] [{kind}] [{seed.project}]"


class EntryPlanner:
    """Draws every user's days, then guarantees the edge cases tests and demos rely on."""

    def __init__(
        self,
        rng: random.Random,
        *,
        spec: WorkspaceSpec,
        seeds: list[EntitySeed],
        deleted: list[EntitySeed],
        owned: dict[int, list[EntitySeed]],
        project_ids: dict[str, int],
    ) -> None:
        self.rng = rng
        self.spec = spec
        self.seeds = seeds
        self.deleted = deleted
        self.owned = owned
        self.project_ids = project_ids
        self.product_project_ids = [
            project_ids[seed_project] for seed_project in dict.fromkeys(s.project for s in seeds)
        ]

    def plan(
        self, users: list[TogglUserRecord], profiles: list[UserProfile]
    ) -> list[TimeEntryRecord]:
        drafts: list[_Draft] = []
        for profile in profiles:
            if profile.idle:
                continue
            for offset in range(self.spec.days):
                drafts.extend(self._day(profile, self.spec.start_date + timedelta(days=offset)))
        self._guarantee(drafts, profiles)
        self._range_edges(drafts, profiles)
        drafts.sort(key=lambda d: (d.start, d.user_index, d.stop))
        return self._finalize(drafts, users)

    def _day(self, profile: UserProfile, day: date) -> list[_Draft]:
        rng = self.rng
        weekend = day.weekday() >= 5
        if weekend:
            if not (profile.weekend_worker and rng.random() < 0.4):
                return []
            target = rng.randint(45, 150)
        elif rng.random() < 0.04:
            return []
        else:
            target = round(profile.daily_minutes * rng.uniform(0.8, 1.1))
        midnight = datetime.combine(day, time(0), tzinfo=profile.zone)
        minute = profile.start_minute + rng.randint(-20, 20)
        worked, lunch_taken = 0, weekend
        drafts: list[_Draft] = []
        while worked < target:
            roll = rng.random()
            if roll < 0.45:
                duration = rng.randint(10, 30)
            elif roll < 0.85:
                duration = rng.randint(30, 70)
            else:
                duration = rng.randint(70, 150)
            start_second = minute * 60 + rng.randrange(30)
            drafts.append(
                self._draft(profile, midnight, start_second, duration * 60 - rng.randrange(30))
            )
            worked += duration
            minute += duration + rng.choice((0, 0, 0, 5, 10, 15))
            if not lunch_taken and minute >= 12 * 60 + 30:
                minute += rng.randint(30, 60)
                lunch_taken = True
        if profile.late_owl and not weekend and rng.random() < 0.3:
            drafts.append(self._late_session(profile, midnight))
        return drafts

    def _range_edges(self, drafts: list[_Draft], profiles: list[UserProfile]) -> None:
        """An entry just after local midnight on the first day and one just before local
        midnight on the last, for the first working users: whose day an entry is on decides
        whether a range holds it."""
        rng, spec = self.rng, self.spec
        last_day = spec.start_date + timedelta(days=spec.days - 1)
        for profile in [p for p in profiles if not p.idle][:EDGE_USERS]:
            first = datetime.combine(spec.start_date, time(0), tzinfo=profile.zone)
            last = datetime.combine(last_day, time(0), tzinfo=profile.zone)
            drafts.append(
                self._draft(profile, first, rng.randint(5, 20) * 60, rng.randint(15, 30) * 60)
            )
            late = (23 * 60 + 30 + rng.randint(0, 15)) * 60
            drafts.append(self._draft(profile, last, late, rng.randint(10, 14) * 60))

    def _late_session(self, profile: UserProfile, midnight: datetime) -> _Draft:
        """An evening session that runs past the user's local midnight."""
        start_minute = 22 * 60 + 30 + self.rng.randint(0, 75)
        return self._draft(profile, midnight, start_minute * 60, self.rng.randint(100, 150) * 60)

    def _draft(
        self, profile: UserProfile, midnight: datetime, start_second: int, duration: int
    ) -> _Draft:
        start = (midnight + timedelta(seconds=start_second)).astimezone(UTC)
        stop = start + timedelta(seconds=duration)
        description, project_id, kind = self._describe(profile.index)
        zone = profile.zone
        crosses = start.astimezone(zone).date() != stop.astimezone(zone).date()
        return _Draft(profile.index, start, stop, description, project_id, kind, crosses)

    def _describe(self, user_index: int) -> tuple[str, int | None, EntryKind]:
        rng, spec = self.rng, self.spec
        roll = rng.random()
        if roll < EMPTY_SHARE:
            return "", None, "empty"
        if roll < EMPTY_SHARE + spec.matched_share * (1 - EMPTY_SHARE) and self.seeds:
            if self.deleted and rng.random() < spec.deleted_share:
                seed, kind = rng.choice(self.deleted), "deleted"
            else:
                own = self.owned.get(user_index)
                pool = own if own and rng.random() < OWN_WORK_SHARE else self.seeds
                seed, kind = rng.choice(pool), "matched"
            description = reference(seed)
            if rng.random() < LONG_MATCHED_SHARE:
                description = reference(seed, _text.long_text(rng, 1950))
            entry_kind: EntryKind = "deleted" if kind == "deleted" else "matched"
            return description, self.project_ids[seed.project], entry_kind
        if rng.random() < LONG_SHARE:
            return _text.long_text(rng), None, "long"
        project_roll = rng.random()
        if project_roll < 0.45:
            project_id: int | None = self.project_ids[rng.choice(INTERNAL_PROJECTS)]
        elif project_roll < 0.75 and self.product_project_ids:
            project_id = rng.choice(self.product_project_ids)
        else:
            project_id = None
        return _text.unmatched_description(rng), project_id, "unmatched"

    def _guarantee(self, drafts: list[_Draft], profiles: list[UserProfile]) -> None:
        """Make sure each edge case appears at least once in any workspace of a useful size."""
        rng, spec = self.rng, self.spec
        if not drafts:
            return

        def unmatched() -> _Draft | None:
            candidates = [d for d in drafts if d.kind == "unmatched"]
            return rng.choice(candidates) if candidates else None

        if len(drafts) >= 10:
            if not any(d.kind == "empty" for d in drafts) and (draft := unmatched()):
                draft.description, draft.kind = "", "empty"
            if not any(len(d.description) >= LONG_MIN_CHARS for d in drafts) and (
                draft := unmatched()
            ):
                draft.description, draft.kind = _text.long_text(rng), "long"
            if not any(not d.description.isascii() for d in drafts) and (draft := unmatched()):
                draft.description = "Разбор инцидента ☕"
            wants_deleted = self.deleted and spec.deleted_share > 0 and spec.matched_share > 0
            if wants_deleted and not any(d.kind == "deleted" for d in drafts):
                candidates = [d for d in drafts if d.kind == "matched"] or drafts
                draft = rng.choice(candidates)
                seed = rng.choice(self.deleted)
                draft.description, draft.kind = reference(seed), "deleted"
                draft.project_id = self.project_ids[seed.project]
        if not any(d.crosses_midnight for d in drafts):
            profile = profiles[drafts[0].user_index]
            midnight = datetime.combine(self.spec.start_date, time(0), tzinfo=profile.zone)
            drafts.append(self._late_session(profile, midnight))

    def _finalize(
        self, drafts: list[_Draft], users: list[TogglUserRecord]
    ) -> list[TimeEntryRecord]:
        rng = self.rng
        entry_id = rng.randint(3_000_000_000, 3_400_000_000)
        tag_pool = [rng.randint(10_000_000, 19_999_999) for _ in range(6)]
        entries: list[TimeEntryRecord] = []
        for draft in drafts:
            entry_id += rng.randint(1, 40)
            matched = draft.kind in ("matched", "deleted")
            tags = (
                tuple(sorted(rng.sample(tag_pool, rng.randint(1, 2)))) if rng.random() < 0.2 else ()
            )
            entries.append(
                TimeEntryRecord(
                    id=entry_id,
                    user_id=users[draft.user_index].id,
                    description=draft.description,
                    project_id=draft.project_id,
                    task_id=rng.randint(80_000_000, 80_000_500)
                    if matched and rng.random() < 0.1
                    else None,
                    billable=rng.random() < (0.6 if matched else 0.1),
                    tag_ids=tags,
                    start=draft.start,
                    stop=draft.stop,
                    seconds=int((draft.stop - draft.start).total_seconds()),
                    at=draft.stop + timedelta(seconds=rng.randint(2, 900)),
                )
            )
        return entries
