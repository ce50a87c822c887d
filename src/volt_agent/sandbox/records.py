"""Plain records of the sandbox workspace (Toggl side); the Fibery side is dicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class TogglUserRecord:
    id: int
    email: str
    fullname: str
    timezone: str


@dataclass(frozen=True, slots=True)
class TogglProjectRecord:
    id: int
    name: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class TimeEntryRecord:
    """A stopped Toggl time entry; datetimes are aware and in UTC, ``seconds`` = stop - start."""

    id: int
    user_id: int
    description: str
    project_id: int | None
    task_id: int | None
    billable: bool
    tag_ids: tuple[int, ...]
    start: datetime
    stop: datetime
    seconds: int
    at: datetime


@dataclass(frozen=True, slots=True)
class DeletedRef:
    """An entity some time entries reference but Fibery no longer serves."""

    type_key: str
    public_id: str
    name: str
