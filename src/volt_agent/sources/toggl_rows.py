"""Toggl answers → volt-agent models: report rows, users, projects, workspaces, totals.

Pure parsing, no I/O: every function takes decoded JSON and returns models, counting what it
sets aside (``FetchStatistics``) or returning ``None`` for a row it cannot read.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, TypeAdapter

from volt_agent.domain.models import FetchStatistics, TimeEntry, TogglUser
from volt_agent.errors import ResponseFormatError
from volt_agent.sources.pagination import PageCursor
from volt_agent.sources.parsing import as_datetime, as_int

TOGGL = "Toggl"
_ENTRY = TypeAdapter(TimeEntry)
"""Builds an entry from a dict (faster than keyword arguments)."""


class TogglMe(TogglUser):
    """``GET /api/v9/me``: the token's own user and its default workspace."""

    default_workspace_id: int | None = None


class TogglProject(BaseModel):
    """A project of ``GET /workspaces/{wid}/projects``; ``active`` false = archived."""

    model_config = ConfigDict(extra="forbid")

    id: int
    name: str = ""
    workspace_id: int | None = None
    active: bool = True


class TogglWorkspace(BaseModel):
    """A workspace as ``GET /api/v9/me/workspaces`` lists it: plan and access hints.

    ``max_data_retention_days`` is "how far back free workspaces can access data" (``None``:
    no limit); ``admin``/``role`` describe the token's user there; ``premium``/``business_ws``
    are the plan flags. Each is ``None`` when the answer lacked it.
    """

    model_config = ConfigDict(extra="forbid")

    id: int
    name: str = ""
    organization_id: int | None = None
    admin: bool | None = None
    role: str | None = None
    premium: bool | None = None
    business_ws: bool | None = None
    max_data_retention_days: int | None = None


class TimeEntryPage(NamedTuple):
    """One report page: kept entries, the cursor of the page after it, what was dropped."""

    entries: list[TimeEntry]
    next_cursor: PageCursor | None
    stats: FetchStatistics
    page_size: int | None = None
    """Rows per page the server granted (``X-Page-Size`` when smaller than asked)."""


class TogglTotals(BaseModel):
    """Toggl's sums for a report's filters (``.../search/time_entries/totals``)."""

    seconds: int
    tracked_days: int | None = None
    """Days with tracked time, summed over the request windows; ``None`` if not answered."""


def add_statistics(total: FetchStatistics, page: FetchStatistics) -> FetchStatistics:
    """Field-wise sum of two statistics."""
    return FetchStatistics(
        **{
            name: getattr(total, name) + getattr(page, name)
            for name in FetchStatistics.model_fields
        }
    )


def flatten_rows(rows: list[Any], seen_ids: set[int]) -> tuple[list[TimeEntry], FetchStatistics]:
    """Report rows → ``TimeEntry`` per nested time entry; ``seen_ids`` is updated in place.

    ``rows_received`` counts candidate entries (a row that cannot be read counts as one),
    so ``rows_received == entries_kept + every *_dropped counter``.
    """
    dropped: Counter[str] = Counter()  # the *_dropped fields; a model's setattr is slow
    received = null_descriptions = 0
    kept: list[TimeEntry] = []
    for row in rows:
        items = row.get("time_entries") if isinstance(row, dict) else None
        if not isinstance(items, list) or not items:
            received += 1
            dropped["malformed_rows_dropped"] += 1
            continue
        received += len(items)
        fields = _row_fields(row)
        for item in items:
            outcome = _flatten_entry(fields, item)
            if isinstance(outcome, str):
                dropped[outcome] += 1
            elif outcome.id in seen_ids:
                dropped["duplicates_dropped"] += 1
            else:
                seen_ids.add(outcome.id)
                kept.append(outcome)
                null_descriptions += fields.null_description
    return kept, FetchStatistics(
        rows_received=received,
        entries_kept=len(kept),
        null_descriptions=null_descriptions,
        **dropped,
    )


class _RowFields(NamedTuple):
    """What every entry of a report row shares, read once per row."""

    user_id: int | None
    values: dict[str, Any]
    """``TimeEntry`` fields of the row (``user_id`` included once it is known)."""
    null_description: bool


def _row_fields(row: dict[str, Any]) -> _RowFields:
    description = row.get("description")
    tag_ids = row.get("tag_ids")
    username = row.get("username")
    user_id = as_int(row.get("user_id"))
    return _RowFields(
        user_id,
        {
            "user_id": user_id,
            "user_name": username if isinstance(username, str) else "",
            "description": "" if description is None else str(description),
            "project_id": as_int(row.get("project_id")),
            "task_id": as_int(row.get("task_id")),
            "billable": row.get("billable") is True,
            "tag_ids": [t for tag in tag_ids if (t := as_int(tag)) is not None]
            if isinstance(tag_ids, list)
            else [],
        },
        description is None,
    )


def _flatten_entry(row: _RowFields, item: Any) -> TimeEntry | str:
    """The entry, or the name of the ``FetchStatistics`` counter that explains its drop."""
    if not isinstance(item, dict):
        return "malformed_rows_dropped"
    entry_id, seconds = as_int(item.get("id")), as_int(item.get("seconds"))
    start = as_datetime(item.get("start"))
    if entry_id is None or row.user_id is None or seconds is None or start is None:
        return "malformed_rows_dropped"
    if item.get("stop") is None:
        return "running_entries_dropped"
    stop = as_datetime(item.get("stop"))
    if stop is None:
        return "malformed_rows_dropped"
    if seconds < 0:
        return "negative_durations_dropped"
    return _ENTRY.validate_python(
        {"id": entry_id, "start": start, "stop": stop, "seconds": seconds, **row.values}
    )


def user_from_row(row: dict[str, Any]) -> TogglUser | None:
    """A user of ``/me`` or of the users list (``inactive``/``is_active`` false = deactivated;
    ``is_admin``, or the older ``admin``; no ``timezone`` in the list)."""
    user_id = as_int(row.get("id"))
    if user_id is None:
        return None
    email, name = text_field(row, "email"), text_field(row, "fullname")
    is_admin = row.get("is_admin", row.get("admin"))
    return TogglUser(
        id=user_id,
        email=email,
        name=name or "",
        timezone=text_field(row, "timezone"),
        active=row.get("inactive") is not True and row.get("is_active") is not False,
        is_admin=is_admin if isinstance(is_admin, bool) else None,
        role=text_field(row, "role"),
    )


def project_from_row(row: dict[str, Any]) -> TogglProject | None:
    project_id = as_int(row.get("id"))
    if project_id is None:
        return None
    return TogglProject(
        id=project_id,
        name=text_field(row, "name") or "",
        workspace_id=as_int(row.get("workspace_id")),
        active=row.get("active") is not False,
    )


def workspace_from_row(row: dict[str, Any]) -> TogglWorkspace | None:
    workspace_id = as_int(row.get("id"))
    if workspace_id is None:
        return None
    flags = {name: row.get(name) for name in ("admin", "premium", "business_ws")}
    return TogglWorkspace(
        id=workspace_id,
        name=text_field(row, "name") or "",
        organization_id=as_int(row.get("organization_id")),
        role=text_field(row, "role"),
        max_data_retention_days=as_int(row.get("max_data_retention_days")),
        **{name: value for name, value in flags.items() if isinstance(value, bool)},
    )


def text_field(row: dict[str, Any], name: str) -> str | None:
    value = row.get(name)
    return value if isinstance(value, str) else None


def list_of_dicts(data: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise ResponseFormatError(TOGGL, f"{what}: expected a JSON list")
    return [row for row in data if isinstance(row, dict)]
