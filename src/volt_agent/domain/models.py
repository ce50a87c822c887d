"""Pydantic models of every artifact volt-agent writes to a run folder.

Each top-level artifact carries ``schema_version`` so a later release can read (or refuse)
an older run folder. Durations are kept in whole seconds; hours are derived, never stored
as the source of truth.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator
from pydantic_core import TzInfo

SCHEMA_VERSION = 1

EntityStatus = Literal["found", "not_found", "error"]
ZoneSource = Literal["config", "toggl_profile", "default"]
"""Where a person's time zone came from: ``toggl.timezones``, their own Toggl profile (the
token's user, from ``/me``), or the default zone (``toggl.default_timezone`` or the token
user's zone)."""


def hours(seconds: int) -> float:
    """Seconds as hours, rounded to 2 decimals for display and JSON."""
    return round(seconds / 3600, 2)


class Model(BaseModel):
    """Strict base: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class DerivedModel(Model):
    """A ``Model`` with computed fields: JSON holds them, and reading it back accepts them.

    Only these classes carry the "before" validator that drops them: on a class without
    computed fields it would cost a Python call per instance (and rule out pydantic-core's
    direct JSON validation) for nothing; ``EntryRef`` has one instance per time entry."""

    @model_validator(mode="before")
    @classmethod
    def _drop_computed_fields(cls, data: Any) -> Any:
        computed = cls.__pydantic_computed_fields__
        if computed and isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in computed}
        return data


class TogglUser(Model):
    """A Toggl user; ``active`` is false for users deactivated in the workspace (their past
    entries still count), ``is_admin``/``role`` are ``None`` where the answer had none."""

    id: int
    email: str | None = None
    name: str = ""
    timezone: str | None = None
    active: bool = True
    is_admin: bool | None = None
    role: str | None = None
    timezone_source: ZoneSource | None = None
    """Set on the users of ``raw_toggl_data.json``: where ``timezone`` came from."""


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
    outside_range_dropped: int = 0
    """Entries of the fetch margin whose start is outside the range in their owner's zone."""


class CompletenessCheck(DerivedModel):
    """Toggl's totals for the fetched range and filters against the sum of what was fetched.

    Both sides count stopped entries of ``[start_date, end_date]`` (the fetch range, margin
    included) once each: ``fetched_seconds`` sums the entries kept after duplicates across
    pages, running and negative rows were set aside, before the local-date filter.
    """

    start_date: date
    end_date: date
    expected_seconds: int
    fetched_seconds: int
    requests: int = 0
    """Toggl requests spent on the totals."""
    attempts: int = 1
    """Fetches made to get agreeing numbers (2 when the first fetch disagreed)."""
    running_timers: int = 0
    """Running timers the report served and the fetch set aside (not summed)."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def agreed(self) -> bool:
        return self.expected_seconds == self.fetched_seconds

    @computed_field  # type: ignore[prop-decorator]
    @property
    def accepted(self) -> bool:
        """Agreed, or the totals exceed the fetched sum while running timers were set aside:
        whether Toggl's totals count a running timer's time so far is undocumented, so that
        surplus is explained, not a loss (the run says so in a warning)."""
        surplus = self.expected_seconds > self.fetched_seconds
        return self.agreed or (surplus and self.running_timers > 0)


class Visibility(Model):
    """Whose entries the Toggl token can see: all of the workspace's, or (not an admin) its own."""

    token_is_admin: bool | None = None
    """``None``: Toggl did not say (the token's user is not in the workspace's user list)."""
    token_user_id: int | None = None
    token_user_name: str = ""

    @property
    def own_entries_only(self) -> bool:
        return self.token_is_admin is False


class RawTogglData(Model):
    schema_version: int = SCHEMA_VERSION
    start_date: date
    end_date: date
    workspace_id: int
    user_filter: list[str] | None = None
    users: list[TogglUser] = Field(default_factory=list)
    """Every workspace user (inactive ones too) with the time zone their days are read in."""
    default_timezone: str | None = None
    """The zone of people not in the user list and not configured in ``toggl.timezones``."""
    fetch_start_date: date | None = None
    fetch_end_date: date | None = None
    """The range asked of Toggl: ``start_date``..``end_date`` plus the time-zone margin."""
    fetched_at: datetime
    request_count: int = 0
    statistics: FetchStatistics = Field(default_factory=FetchStatistics)
    completeness: CompletenessCheck | None = None
    visibility: Visibility = Field(default_factory=Visibility)
    entries: list[TimeEntry] = Field(default_factory=list)
    """The entries whose start falls on ``start_date``..``end_date`` in their owner's zone."""


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
    """One entry in an aggregate (one per time entry of the range: the most numerous object
    of a run, so its per-instance overhead is kept small)."""

    id: int
    start: datetime
    stop: datetime | None = None
    seconds: int
    description: str

    def model_post_init(self, context: Any, /) -> None:
        """Share what instances can share: one description string for the entries that
        carry the same one (a person logs the same task day after day), one zone object per
        UTC offset (equal offsets, so equal datetimes and the same JSON), and one fields-set
        for those that set every field (a set of five names is 728 bytes, a quarter of an
        instance; assigning a field adds a name that set already holds, so it never changes)."""
        values = self.__dict__
        values["description"] = sys.intern(self.description)
        values["start"] = _shared_zone(self.start)
        if self.stop is not None:
            values["stop"] = _shared_zone(self.stop)
        share_fields_set(self)


_FULL_FIELDS: dict[type[BaseModel], set[str]] = {}


def _full_fields(model_type: type[BaseModel]) -> set[str]:
    """The class's one set of every field name, shared by its instances that set them all."""
    full = _FULL_FIELDS.get(model_type)
    if full is None:
        full = _FULL_FIELDS.setdefault(model_type, set(model_type.model_fields))
    return full


def share_fields_set(model: BaseModel) -> None:
    """Give ``model`` its class's one shared fields-set when it set every field (as a model
    read back from our own JSON does). For the numerous small models of an aggregate (a set
    of five names is 728 bytes, often a quarter of an instance); safe, as assigning a field
    adds a name that set already holds, so the shared set never changes."""
    full = _full_fields(type(model))
    if len(model.__pydantic_fields_set__) == len(full):
        object.__setattr__(model, "__pydantic_fields_set__", full)


_M = TypeVar("_M", bound=BaseModel)
_FIELD_HOLDERS: dict[type[BaseModel], type] = {}


def compact_model(model_type: type[_M], values: Mapping[str, Any]) -> _M:
    """A ``model_type`` of ``values`` (one per field), unvalidated and without
    ``model_post_init``, as ``model_construct``: for values our own typed code made, of a
    class without private attributes or extra fields; every field counts as set. Its field
    dict is a plain object's, whose attributes, set in field order, CPython keeps in a table
    whose keys every instance of the class shares, so the dict holds only the values (a slim
    group takes about 300 bytes traced instead of 420 as a ``model_copy``). For the tens of
    thousands of small models a run's reports keep."""
    holder = _FIELD_HOLDERS.get(model_type)
    if holder is None:
        holder = _FIELD_HOLDERS.setdefault(
            model_type, type(f"_{model_type.__name__}Fields", (), {})
        )
    attributes = holder()
    for name in model_type.model_fields:
        setattr(attributes, name, values[name])
    full = _full_fields(model_type)
    model = model_type.__new__(model_type)
    object.__setattr__(model, "__dict__", attributes.__dict__)
    object.__setattr__(model, "__pydantic_fields_set__", full)
    object.__setattr__(model, "__pydantic_extra__", None)
    object.__setattr__(model, "__pydantic_private__", None)
    return model


def compact_copy(model: _M, update: Mapping[str, Any]) -> _M:
    """``model.model_copy(update=update)`` made by ``compact_model``: the same values in a
    smaller dict."""
    return compact_model(type(model), {**model.__dict__, **update})


_ZONES: dict[tuple[type, timedelta | None], tzinfo] = {}
"""One fixed-offset ``tzinfo`` per type and offset: a datetime read from JSON gets a zone
object of its own. Zones with rules (``ZoneInfo``: shared by their key already) are left."""


def _shared_zone(value: datetime) -> datetime:
    zone = value.tzinfo
    if not isinstance(zone, (timezone, TzInfo)):
        return value
    shared = _ZONES.setdefault((type(zone), zone.utcoffset(value)), zone)
    return value if shared is zone else value.replace(tzinfo=shared)


class MatchedEntity(DerivedModel):
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
        """Interned: a team report keys tables of tens of thousands of groups by it, and a
        run has a handful of types."""
        if self.database and self.entity_type:
            return sys.intern(f"{self.database}/{self.entity_type}")
        return None

    def model_post_init(self, context: Any, /) -> None:
        """Share the strings that repeat across groups and people (a handful of spaces,
        types and projects; an entity and its name per person tracking it) and the
        fields-set. ``model_copy`` skips this: a copy calls it itself when it matters."""
        _intern_strings(self, _MATCHED_STRINGS)
        share_fields_set(self)


_MATCHED_STRINGS = ("entity_id", "database", "entity_type", "project", "name")


def _intern_strings(model: BaseModel, names: tuple[str, ...]) -> None:
    values = model.__dict__
    for name in names:
        value = values[name]
        if value is not None:
            values[name] = sys.intern(value)


class UnmatchedActivity(DerivedModel):
    """Time a user spent on work with no Fibery reference, grouped by cleaned description."""

    description: str
    seconds: int
    entry_count: int
    entries: list[EntryRef] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def hours(self) -> float:
        return hours(self.seconds)

    def model_post_init(self, context: Any, /) -> None:
        """Share the description (the same activities recur across people) and the
        fields-set, as ``MatchedEntity`` does."""
        _intern_strings(self, ("description",))
        share_fields_set(self)


class UserAggregate(DerivedModel):
    user_id: int
    user_name: str
    email: str | None = None
    timezone: str | None = None
    """The zone of this person's days; entry times are shown in it (``None``: UTC)."""
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

    def model_post_init(self, context: Any, /) -> None:
        """Share the zone name (a team has a handful) and the fields-set."""
        _intern_strings(self, ("timezone",))
        share_fields_set(self)


class AggregationStatistics(DerivedModel):
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
    visibility: Visibility = Field(default_factory=Visibility)


class EntityKey(Model):
    """How an entity is addressed in Fibery: its type (``Space/Type``) and public id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type_key: str
    public_id: str

    def __str__(self) -> str:
        return f"{self.type_key}#{self.public_id}"

    def model_post_init(self, context: Any, /) -> None:
        share_fields_set(self)  # one per finding of a run: tens of thousands on a large one


class Comment(Model):
    author: str | None = None
    created: datetime | None = None
    text: str = ""

    def model_post_init(self, context: Any, /) -> None:
        """Share the author (a team has a handful), the zone and the fields-set: the
        enriched-entity index keeps every comment of a run resident."""
        values = self.__dict__
        if self.author is not None:
            values["author"] = sys.intern(self.author)
        if self.created is not None:
            values["created"] = _zone_shared(self.created)
        share_fields_set(self)


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
    """Display names (an email when Fibery has no name)."""
    assignee_emails: list[str] = Field(default_factory=list)
    """Emails of the assignees that have one; matched before names."""
    closed_at: datetime | None = None
    """When the entity was closed, from the type's configured ``closed_at`` field."""
    closed_on: date | None = None
    """The closing day, when that field is a date without a time."""
    description: str = ""
    comments: list[Comment] = Field(default_factory=list)
    comment_count: int = 0
    fields: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> EntityKey:
        return EntityKey(type_key=self.type_key, public_id=self.public_id)

    def model_post_init(self, context: Any, /) -> None:
        """Share what repeats across the entities a run keeps resident (issue 12): the type,
        status and state, the assignees, the names of ``fields`` and their string values
        (a priority, a sprint; strings in a list value too) and one zone object per UTC
        offset. Equal values, so the same JSON; unique strings (name, ids, description)
        are left as they are."""
        values = self.__dict__
        values["type_key"] = sys.intern(self.type_key)
        values["status"] = sys.intern(self.status)
        if self.state is not None:
            values["state"] = sys.intern(self.state)
        for name in _DATETIME_FIELDS:
            value = values[name]
            if value is not None:
                values[name] = _zone_shared(value)
        _intern_items(self.assignees)
        _intern_items(self.assignee_emails)
        if self.fields:
            values["fields"] = {sys.intern(k): _interned(v) for k, v in self.fields.items()}
        share_fields_set(self)


_DATETIME_FIELDS = ("created", "modified", "closed_at")


def _intern_items(items: list[Any]) -> None:
    """Intern the strings of ``items`` in place (a list the model holds: equal values)."""
    for i, item in enumerate(items):
        if type(item) is str:
            items[i] = sys.intern(item)


def _interned(value: Any) -> Any:
    """A ``fields`` value with its strings interned (a list's in place)."""
    if type(value) is str:
        return sys.intern(value)
    if type(value) is list:
        _intern_items(value)
    return value


_TZINFOS: dict[TzInfo, TzInfo] = {}
"""One pydantic ``TzInfo`` per offset, looked up by the zone itself (a ``TzInfo`` hashes
and compares by its offset): cheaper than ``_shared_zone``'s key, for the datetimes of the
enriched entities (about four per entity, its comments' included)."""


def _zone_shared(value: datetime) -> datetime:
    """``_shared_zone(value)``, with a fast path for a datetime read from JSON (a
    ``TzInfo`` zone): the pickle constructor, ``datetime(state, zone)``, rebuilds it from
    its own state (every field, ``fold`` too) with the shared zone at a fifth of the cost
    of ``replace(tzinfo=...)``, which matters at tens of thousands per index load."""
    zone = value.tzinfo
    if type(zone) is not TzInfo or type(value) is not datetime:
        return _shared_zone(value)
    shared = _TZINFOS.setdefault(zone, zone)
    if shared is zone:
        return value
    reduced: Any = value.__reduce_ex__(4)
    rebuilt: datetime = _FROM_STATE(reduced[1][0], shared)
    return rebuilt


_FROM_STATE: Any = datetime
"""``datetime`` called as pickle calls it, ``(state bytes, zone)``: a signature its stubs
do not declare."""


class EnrichedData(Model):
    """``toggl_aggregated.json`` merged with what Fibery said of each referenced entity."""

    schema_version: int = SCHEMA_VERSION
    aggregated: TogglAggregated
    entities: list[EnrichedEntity] = Field(default_factory=list)
    statistics: dict[str, Any] = Field(default_factory=dict)
