from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from volt_agent.domain.local_time import (
    FALLBACK_ZONE,
    default_zone,
    fetch_range,
    local_date,
    resolve_user_zones,
    split_by_local_range,
    utc_offset_spread,
)
from volt_agent.domain.models import TimeEntry, TogglUser

START, END = date(2026, 11, 16), date(2026, 11, 22)
ME = TogglUser(id=1, email="me@volt.example", name="Me")
USERS = [
    ME,
    TogglUser(id=2, email="Ana@Volt.Example", name="Ana"),
    TogglUser(id=3, email="bo@volt.example", name="Bo"),
    TogglUser(id=4, name="No Email"),
]


def entry(entry_id: int, user_id: int, start: datetime) -> TimeEntry:
    return TimeEntry(
        id=entry_id, user_id=user_id, start=start, stop=start + timedelta(minutes=5), seconds=300
    )


def test_zone_policy_config_then_own_profile_then_default() -> None:
    resolved = resolve_user_zones(
        USERS,
        {"ana@volt.example": "Asia/Kolkata", "me@volt.example": "Europe/Berlin"},
        token_user_id=1,
        token_user_zone="Pacific/Tongatapu",
        default="America/Los_Angeles",
    )
    assert [(u.id, u.timezone, u.timezone_source) for u in resolved] == [
        (1, "Europe/Berlin", "config"),  # config beats the token user's own profile
        (2, "Asia/Kolkata", "config"),  # emails match case-insensitively
        (3, "America/Los_Angeles", "default"),
        (4, "America/Los_Angeles", "default"),
    ]
    assert [u.name for u in resolved] == [u.name for u in USERS]


def test_token_user_gets_its_profile_zone_when_not_configured() -> None:
    (me,) = resolve_user_zones(
        [ME], {}, token_user_id=1, token_user_zone="Asia/Kolkata", default="UTC"
    )
    assert (me.timezone, me.timezone_source) == ("Asia/Kolkata", "toggl_profile")


def test_default_zone_is_the_setting_else_the_token_users_zone_else_utc() -> None:
    assert default_zone("Europe/Berlin", "Asia/Kolkata") == "Europe/Berlin"
    assert default_zone(None, "Asia/Kolkata") == "Asia/Kolkata"
    assert default_zone(None, None) == FALLBACK_ZONE == "UTC"


def test_local_date_reads_the_instant_in_the_zone() -> None:
    # 23:30 on the 15th in Los Angeles is the 16th in UTC and in Kolkata
    instant = datetime(2026, 11, 15, 23, 30, tzinfo=timezone(timedelta(hours=-8)))
    assert local_date(instant, "America/Los_Angeles") == date(2026, 11, 15)
    assert local_date(instant, "Asia/Kolkata") == date(2026, 11, 16)
    assert local_date(instant, None) == date(2026, 11, 16)


def test_split_keeps_entries_on_their_owners_local_days() -> None:
    zones = {2: "America/Los_Angeles", 3: "Pacific/Tongatapu"}
    entries = [
        entry(1, 2, datetime(2026, 11, 16, 7, 50, tzinfo=UTC)),  # LA 15th 23:50: out
        entry(2, 2, datetime(2026, 11, 16, 8, 10, tzinfo=UTC)),  # LA 16th 00:10: in
        entry(3, 3, datetime(2026, 11, 22, 10, 50, tzinfo=UTC)),  # Tonga 22nd 23:50: in
        entry(4, 3, datetime(2026, 11, 22, 11, 10, tzinfo=UTC)),  # Tonga 23rd 00:10: out
        entry(5, 9, datetime(2026, 11, 22, 23, 50, tzinfo=UTC)),  # unknown user: default zone
    ]
    inside, outside = split_by_local_range(entries, zones, "UTC", START, END)
    assert [e.id for e in inside] == [2, 3, 5]
    assert [e.id for e in outside] == [1, 4]


def test_fetch_range_has_one_day_margin_for_zones_within_a_day() -> None:
    zones = ["America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata", "Pacific/Tongatapu"]
    assert utc_offset_spread(zones, START, END) == timedelta(hours=21)
    assert fetch_range(START, END, zones) == (date(2026, 11, 15), date(2026, 11, 23))


def test_fetch_range_has_two_days_margin_for_zones_more_than_a_day_apart() -> None:
    zones = ["Pacific/Kiritimati", "Pacific/Honolulu"]  # UTC+14 and UTC-10
    assert utc_offset_spread(zones, START, END) == timedelta(hours=24)
    assert fetch_range(START, END, zones) == (date(2026, 11, 15), date(2026, 11, 23))
    zones = ["Pacific/Kiritimati", "Pacific/Pago_Pago"]  # UTC+14 and UTC-11
    assert fetch_range(START, END, zones) == (date(2026, 11, 14), date(2026, 11, 24))


@pytest.mark.parametrize("zone_name", ["Pacific/Tongatapu", "America/Los_Angeles", "UTC"])
def test_a_margin_covers_every_local_day_under_the_token_users_reading(zone_name: str) -> None:
    """Any local time of the range, read in a token zone up to 24 h away, is in the margin."""
    first, last = fetch_range(START, END, [zone_name, "Asia/Kolkata"])
    for day in (START, END):
        for minute in (0, 24 * 60 - 1):
            local = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minute)
            instant = local.replace(tzinfo=timezone(timedelta(hours=5, minutes=30)))
            assert first <= local_date(instant, zone_name) <= last
