"""What ``fetch_toggl_data`` asks of Toggl besides the report pages, and what it checks.

Before the pages: the workspace, its users (inactive ones too: their past entries need
names), the token's own user (``/me``: its time zone and whether it is a workspace admin), each
person's zone (``domain.local_time``) and the range to ask for, margin included. After the
pages: Toggl's totals for the same range and users against the sum of what was fetched — the
completeness guarantee — and the Toggl quota headers last seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from volt_agent.config import TogglSettings
from volt_agent.domain.local_time import default_zone, fetch_range, resolve_user_zones
from volt_agent.domain.models import CompletenessCheck, FetchStatistics, TogglUser, Visibility
from volt_agent.errors import FatalSourceError, RetryableSourceError
from volt_agent.pipeline.types import TogglQuota
from volt_agent.sources.toggl import TogglClient
from volt_agent.sources.toggl_rows import TOGGL


class IncompleteFetchError(RetryableSourceError):
    """Toggl's totals disagreed with the fetched entries once: fetch everything again."""


class FetchMismatchError(FatalSourceError):
    """Toggl's totals disagreed with the fetched entries on a second, fresh fetch."""


@dataclass(frozen=True)
class FetchPlan:
    workspace_id: int
    users: list[TogglUser]
    """Every workspace user, with the zone their days are read in."""
    default_timezone: str
    user_ids: list[int] | None
    """``--users`` resolved to ids (``None``: everyone)."""
    start_date: date
    end_date: date
    """The range asked of Toggl: the run's range plus the time-zone margin."""
    visibility: Visibility

    @property
    def zones(self) -> dict[int, str]:
        return {u.id: u.timezone or self.default_timezone for u in self.users}


async def plan_fetch(
    toggl: TogglClient,
    settings: TogglSettings,
    start_date: date,
    end_date: date,
    emails: Sequence[str] | None,
) -> FetchPlan:
    """The users, their zones and the range to fetch; ``/me`` and the user list are cached."""
    workspace_id = await toggl.workspace_id()
    users = await toggl.workspace_users(workspace_id)
    user_ids = [u.id for u in await toggl.resolve_user_ids(emails)] if emails else None
    me = await toggl.me()
    admin = await toggl.token_is_admin(workspace_id)
    default = default_zone(settings.default_timezone, me.timezone)
    resolved = resolve_user_zones(
        users,
        settings.timezones,
        token_user_id=me.id,
        token_user_zone=me.timezone,
        default=default,
    )
    wanted = set(user_ids) if user_ids is not None else None
    zones = [u.timezone for u in resolved if wanted is None or u.id in wanted]
    first, last = fetch_range(start_date, end_date, [*zones, me.timezone, default])
    return FetchPlan(
        workspace_id=workspace_id,
        users=resolved,
        default_timezone=default,
        user_ids=user_ids,
        start_date=first,
        end_date=last,
        visibility=Visibility(token_is_admin=admin, token_user_id=me.id, token_user_name=me.name),
    )


async def check_completeness(
    toggl: TogglClient,
    plan: FetchPlan,
    fetched_seconds: int,
    *,
    attempt: int,
    running_timers: int = 0,
) -> CompletenessCheck:
    """Toggl's totals for the plan's range and users next to ``fetched_seconds``.

    Like is compared with like: both count each stopped entry of the range once. The fetched
    side sums the kept entries (duplicates across pages, running timers and negative
    durations set aside), before the local-date filter narrows them to the run's range.
    ``running_timers`` (set aside) explain totals above the sum (``CompletenessCheck.accepted``).
    """
    before = toggl.request_count
    totals = await toggl.totals(
        plan.start_date, plan.end_date, plan.user_ids, workspace_id=plan.workspace_id
    )
    return CompletenessCheck(
        start_date=plan.start_date,
        end_date=plan.end_date,
        expected_seconds=totals.seconds,
        fetched_seconds=fetched_seconds,
        requests=toggl.request_count - before,
        attempts=attempt,
        running_timers=running_timers,
    )


def mismatch_error(
    check: CompletenessCheck, stats: FetchStatistics, *, first: bool
) -> IncompleteFetchError | FetchMismatchError:
    """The one-line error of a disagreement: retryable the first time, fatal the second."""
    numbers = (
        f"the report totals for {check.start_date}..{check.end_date} say"
        f" {check.expected_seconds} s, the fetched entries sum to {check.fetched_seconds} s"
    )
    if first:
        return IncompleteFetchError(TOGGL, f"{numbers}; fetching everything again")
    if check.fetched_seconds > check.expected_seconds:
        hint = "the report pages served entries its totals do not count"
    else:
        hint = "the report pages lost entries"
        if stats.malformed_rows_dropped:
            hint += f", or {stats.malformed_rows_dropped} unreadable row(s) set aside count there"
    return FetchMismatchError(
        TOGGL,
        f"{numbers} again after a fresh fetch ({hint}): the report would be incomplete;"
        " try again later",
    )


def quota_of(toggl: TogglClient) -> TogglQuota:
    stats = toggl.stats
    return TogglQuota(
        quota_remaining=stats.quota_remaining,
        quota_resets_in=stats.quota_resets_in,
        quota_remaining_min=stats.quota_remaining_min,
        user_quota_remaining=stats.user_quota_remaining,
        user_quota_resets_in=stats.user_quota_resets_in,
    )
