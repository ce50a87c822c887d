"""Each person's days are their local days: zones per user, the fetch margin, the date filter.

Pure: zone names in, dates and entries out (``zoneinfo`` reads the system's time-zone data,
which is a fixed table, not state). Toggl's API tells only the token user's own zone
(``/me``), so a person's zone is, in this order: ``toggl.timezones[email]`` (source
``config``), the token user's profile zone for the token user (``toggl_profile``), else the
default zone — ``toggl.default_timezone``, or the token user's zone when that is unset
(``default``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

from volt_agent.domain.models import TimeEntry, TogglUser

FALLBACK_ZONE = "UTC"
"""The zone of last resort: no configured default and no zone in the token user's profile."""

MARGIN_DAYS = 1
"""Days fetched before and after the range so that either reading of Toggl's date filter
(each creator's zone, or the token user's zone) covers every person's local range."""


@cache
def zone(name: str | None) -> tzinfo:
    """The ``tzinfo`` of an IANA name (``None``: UTC); names are validated at config load."""
    return UTC if name is None else ZoneInfo(name)


def local_date(instant: datetime, zone_name: str | None) -> date:
    """The calendar date of ``instant`` (an aware datetime) in ``zone_name``."""
    return instant.astimezone(zone(zone_name)).date()


def in_zone(instant: datetime, zone_name: str | None) -> datetime:
    """The same instant shown in ``zone_name``."""
    return instant.astimezone(zone(zone_name))


def default_zone(configured: str | None, token_user_zone: str | None) -> str:
    """``toggl.default_timezone``, else the token user's Toggl profile zone, else UTC."""
    return configured or token_user_zone or FALLBACK_ZONE


def resolve_user_zones(
    users: Iterable[TogglUser],
    overrides: Mapping[str, str],
    *,
    token_user_id: int | None,
    token_user_zone: str | None,
    default: str,
) -> list[TogglUser]:
    """``users`` with ``timezone`` and ``timezone_source`` set by the policy of this module.

    ``overrides`` maps lower-case emails to zones (``TogglSettings.timezones``).
    """
    resolved = []
    for user in users:
        email = (user.email or "").strip().lower()
        if email in overrides:
            name, source = overrides[email], "config"
        elif user.id == token_user_id and token_user_zone:
            name, source = token_user_zone, "toggl_profile"
        else:
            name, source = default, "default"
        resolved.append(user.model_copy(update={"timezone": name, "timezone_source": source}))
    return resolved


def zones_by_user(users: Iterable[TogglUser], default: str) -> dict[int, str]:
    return {u.id: u.timezone or default for u in users}


def utc_offset_spread(zone_names: Iterable[str | None], start: date, end: date) -> timedelta:
    """The largest difference between the UTC offsets of the zones over ``start``..``end``."""
    names = list(zone_names)
    offsets = [timedelta(0)] if not names else []
    moment = datetime.combine(start, time(0), tzinfo=UTC)
    while moment.date() <= end + timedelta(days=1):
        offsets += [moment.astimezone(zone(n)).utcoffset() or timedelta(0) for n in names]
        moment += timedelta(hours=6)
    return max(offsets) - min(offsets)


def fetch_range(start: date, end: date, zone_names: Iterable[str | None]) -> tuple[date, date]:
    """The dates to ask Toggl for so that every person's local ``start``..``end`` is inside.

    One day of margin on each side covers zones up to 24 hours apart (Toggl may read the
    dates in each creator's zone or in the token user's); zones further apart (UTC+14 and
    UTC-10, say) get a second day.
    """
    names = list(dict.fromkeys([*zone_names, FALLBACK_ZONE]))
    spread = utc_offset_spread(names, start - timedelta(days=1), end + timedelta(days=1))
    margin = timedelta(days=MARGIN_DAYS + (spread > timedelta(hours=24)))
    return start - margin, end + margin


def split_by_local_range(
    entries: Iterable[TimeEntry],
    zones: Mapping[int, str],
    default: str,
    start: date,
    end: date,
) -> tuple[list[TimeEntry], list[TimeEntry]]:
    """``(inside, outside)``: entries whose start, in their owner's zone, falls on a date of
    ``start``..``end``, and the others (order kept)."""
    inside: list[TimeEntry] = []
    outside: list[TimeEntry] = []
    for entry in entries:
        day = local_date(entry.start, zones.get(entry.user_id, default))
        (inside if start <= day <= end else outside).append(entry)
    return inside, outside
