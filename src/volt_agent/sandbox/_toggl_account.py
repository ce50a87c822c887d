"""Track API v9 account answers of the Toggl simulator: users, projects, workspaces, retention.

Shapes follow Toggl's published docs (copies on community.toggl.com):

* ``GET /workspaces/{wid}/users`` → ``{id, email, fullname, inactive, is_active, is_admin,
  role}``, no time zone (``/t/workspace-endpoints-get-get-workspace-users/354``). Every sixth
  user (index 4, 10, …) is deactivated (``inactive: true``); they keep their past entries.
* ``GET /workspaces/{wid}/projects`` → pages of ``per_page`` (default 151, at most 200)
  projects, ``page`` from 1, ``active`` ``true`` (default) | ``false`` | ``both``
  (``/t/projects-endpoints-get-workspace-projects/370``).
* ``GET /me/workspaces`` → the workspaces of the token's user with ``admin``, ``role``,
  ``premium``/``business_ws`` and ``max_data_retention_days`` ("How far back free workspaces
  can access data", ``/t/me-endpoints-get-workspaces/174``).

Query values the API would refuse raise ``ParamError``; its message is the 400 answer's text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, timedelta
from typing import Any

from volt_agent.sandbox.records import TimeEntryRecord, TogglProjectRecord, TogglUserRecord
from volt_agent.sandbox.workspace import Workspace

INACTIVE_EVERY = 6
"""Users whose index is ``4 (mod INACTIVE_EVERY)`` are deactivated in the workspace."""
DEFAULT_PROJECTS_PER_PAGE = 151
MAX_PROJECTS_PER_PAGE = 200
ACTIVE_VALUES = ("true", "false", "both")


class ParamError(ValueError):
    """A query parameter the API would refuse; the message is the 400 answer's text."""


def is_inactive_user(index: int) -> bool:
    """Whether the workspace's ``index``-th user is deactivated (never the token's user)."""
    return index % INACTIVE_EVERY == 4


def user_rows(
    users: Sequence[TogglUserRecord], *, admin: bool, only_self: bool
) -> list[dict[str, Any]]:
    """The users list; the first user owns the token and is admin only if ``admin``.

    ``only_self`` (a member token, when the simulator plays members seeing only themselves)
    keeps the token user's own row.
    """
    rows: list[dict[str, Any]] = []
    for index, user in enumerate(users):
        if only_self and index > 0:
            break
        inactive = is_inactive_user(index)
        is_admin = index == 0 and admin
        rows.append(
            {
                "id": user.id,
                "email": user.email,
                "fullname": user.fullname,
                "inactive": inactive,
                "is_active": not inactive,
                "is_admin": is_admin,
                "role": "admin" if is_admin else "user",
            }
        )
    return rows


def bool_param(params: Mapping[str, str], name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise ParamError(f"{name} must be true or false")
    return value.lower() == "true"


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ParamError(f"{name} must be a positive integer") from None
    if number < 1:
        raise ParamError(f"{name} must be a positive integer")
    return number


def all_projects(workspace: Workspace, extra: int) -> list[TogglProjectRecord]:
    """The workspace's projects plus ``extra`` generated ones (every third archived)."""
    projects = list(workspace.toggl_projects)
    next_id = max((p.id for p in projects), default=100_000_000) + 1
    for number in range(1, extra + 1):
        projects.append(
            TogglProjectRecord(next_id + number, f"Archive {number:04d}", active=number % 3 != 0)
        )
    return projects


def project_page(
    projects: Sequence[TogglProjectRecord], workspace_id: int, params: Mapping[str, str]
) -> list[dict[str, Any]]:
    """One page of ``GET /workspaces/{wid}/projects`` for these query ``params``."""
    page = _int_param(params, "page", 1)
    per_page = _int_param(params, "per_page", DEFAULT_PROJECTS_PER_PAGE)
    if per_page > MAX_PROJECTS_PER_PAGE:
        raise ParamError(f"per_page cannot exceed {MAX_PROJECTS_PER_PAGE}")
    active = params.get("active", "true").lower()
    if active not in ACTIVE_VALUES:
        raise ParamError("active must be true, false or both")
    chosen = [p for p in projects if active == "both" or p.active == (active == "true")]
    first = (page - 1) * per_page
    return [
        {"id": p.id, "name": p.name, "workspace_id": workspace_id, "active": p.active}
        for p in chosen[first : first + per_page]
    ]


def workspace_row(
    workspace: Workspace, *, admin: bool, retention_days: int | None
) -> dict[str, Any]:
    """The sandbox workspace as ``GET /me/workspaces`` lists it.

    A retention limit makes it a Free workspace (``premium``/``business_ws`` false).
    """
    paid = retention_days is None
    return {
        "id": workspace.workspace_id,
        "organization_id": workspace.workspace_id + 1,
        "name": "Volt sandbox",
        "admin": admin,
        "role": "admin" if admin else "user",
        "premium": paid,
        "business_ws": paid,
        "max_data_retention_days": retention_days,
    }


def retained(
    entries: Sequence[TimeEntryRecord], retention_days: int | None, today: date
) -> list[TimeEntryRecord]:
    """The entries a workspace with this retention limit still serves (start date in UTC)."""
    if retention_days is None:
        return list(entries)
    oldest = today - timedelta(days=retention_days)
    return [e for e in entries if e.start.astimezone(UTC).date() >= oldest]
