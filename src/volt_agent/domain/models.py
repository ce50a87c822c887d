"""Pydantic models of every artifact volt-agent writes to a run folder.

Each top-level artifact carries ``schema_version`` so a later release can read (or refuse)
an older run folder. Durations are kept in whole seconds; hours are derived, never stored
as the source of truth.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

SCHEMA_VERSION = 1

EntityStatus = Literal["found", "not_found", "error"]


def hours(seconds: int) -> float:
    """Seconds as hours, rounded to 2 decimals for display and JSON."""
    return round(seconds / 3600, 2)


class Model(BaseModel):
    """Strict base: unknown keys are errors; derived (computed) keys written by us are accepted."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _drop_computed_fields(cls, data: Any) -> Any:
        computed = cls.__pydantic_computed_fields__
        if computed and isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in computed}
        return data


class TogglUser(Model):
    id: int
    email: str | None = None
    name: str = ""
    timezone: str | None = None


class TimeEntry(Model):
    """One Toggl time entry, flattened from a detailed-report row."""

    id: int
    user_id: int
    user_name: str = ""
    description: str = ""
    project_id: int | None = None
    task_id: int | None = None
    billable: bool = False
    tag_ids: list[int] = Field(default_factory=list)
    start: datetime
    stop: datetime | None = None
    seconds: int


class FetchStatistics(Model):
    """What the fetch saw and set aside; every skipped row is counted, never silently lost."""

    rows_received: int = 0
    entries_kept: int = 0
    duplicates_dropped: int = 0
    running_entries_dropped: int = 0
    negative_durations_dropped: int = 0
    malformed_rows_dropped: int = 0
    null_descriptions: int = 0


class RawTogglData(Model):
    schema_version: int = SCHEMA_VERSION
    start_date: date
    end_date: date
    workspace_id: int
    user_filter: list[str] | None = None
    users: list[TogglUser] = Field(default_factory=list)
    fetched_at: datetime
    request_count: int = 0
    statistics: FetchStatistics = Field(default_factory=FetchStatistics)
    entries: list[TimeEntry] = Field(default_factory=list)


class ParsedDescription(Model):
    """A description split into its Fibery reference (if any) and the human text."""

    raw: str
    text: str
    entity_id: str | None = None
    database: str | None = None
    entity_type: str | None = None
    project: str | None = None

    @property
    def matched(self) -> bool:
        return self.entity_id is not None

    @property
    def type_key(self) -> str | None:
        """``"Database/Type"`` as used by Fibery and the enrichment config, if known."""
        if self.database and self.entity_type:
            return f"{self.database}/{self.entity_type}"
        return None


class EntryRef(Model):
    id: int
    start: datetime
    stop: datetime | None = None
    seconds: int
    description: str


class MatchedEntity(Model):
    """Time a user spent on one Fibery entity."""

    entity_id: str
    database: str | None = None
    entity_type: str | None = None
    project: str | None = None
    name: str
    seconds: int
    entry_count: int
    entries: list[EntryRef] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def hours(self) -> float:
        return hours(self.seconds)

    @property
    def type_key(self) -> str | None:
        if self.database and self.entity_type:
            return f"{self.database}/{self.entity_type}"
        return None


class UnmatchedActivity(Model):
    """Time a user spent on work with no Fibery reference, grouped by cleaned description."""

    description: str
    seconds: int
    entry_count: int
    entries: list[EntryRef] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def hours(self) -> float:
        return hours(self.seconds)


class UserAggregate(Model):
    user_id: int
    user_name: str
    email: str | None = None
    total_seconds: int
    matched_seconds: int
    unmatched_seconds: int
    entry_count: int
    matched: list[MatchedEntity] = Field(default_factory=list)
    unmatched: list[UnmatchedActivity] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total_hours(self) -> float:
        return hours(self.total_seconds)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def matched_hours(self) -> float:
        return hours(self.matched_seconds)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unmatched_hours(self) -> float:
        return hours(self.unmatched_seconds)


class AggregationStatistics(Model):
    user_count: int = 0
    entry_count: int = 0
    matched_entry_count: int = 0
    unmatched_entry_count: int = 0
    unique_entity_count: int = 0
    entities_by_type: dict[str, int] = Field(default_factory=dict)
    total_seconds: int = 0
    matched_seconds: int = 0
    unmatched_seconds: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def matched_share(self) -> float:
        """Fraction of tracked time that points at a Fibery entity (0..1)."""
        return round(self.matched_seconds / self.total_seconds, 4) if self.total_seconds else 0.0


class TogglAggregated(Model):
    schema_version: int = SCHEMA_VERSION
    start_date: date
    end_date: date
    users: list[UserAggregate] = Field(default_factory=list)
    statistics: AggregationStatistics = Field(default_factory=AggregationStatistics)


class EntityKey(Model):
    """How an entity is addressed in Fibery: its type (``Space/Type``) and public id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type_key: str
    public_id: str

    def __str__(self) -> str:
        return f"{self.type_key}#{self.public_id}"


class Comment(Model):
    author: str | None = None
    created: datetime | None = None
    text: str = ""


class EnrichedEntity(Model):
    """A Fibery entity as volt-agent saw it, or why it could not be seen."""

    type_key: str
    public_id: str
    status: EntityStatus
    error: str | None = None
    fibery_id: str | None = None
    name: str | None = None
    state: str | None = None
    created: datetime | None = None
    modified: datetime | None = None
    assignees: list[str] = Field(default_factory=list)
    description: str = ""
    comments: list[Comment] = Field(default_factory=list)
    comment_count: int = 0
    fields: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> EntityKey:
        return EntityKey(type_key=self.type_key, public_id=self.public_id)


class EnrichedData(Model):
    """``toggl_aggregated.json`` merged with what Fibery said of each referenced entity."""

    schema_version: int = SCHEMA_VERSION
    aggregated: TogglAggregated
    entities: list[EnrichedEntity] = Field(default_factory=list)
    statistics: dict[str, Any] = Field(default_factory=dict)
