"""Date windows of scheduled runs."""

from __future__ import annotations

from datetime import date

import pytest

from volt_agent.schedules.windows import Window, window_dates


@pytest.mark.parametrize(
    ("window", "today", "expected"),
    [
        ("yesterday", date(2026, 11, 24), (date(2026, 11, 23), date(2026, 11, 23))),
        ("yesterday", date(2026, 3, 1), (date(2026, 2, 28), date(2026, 2, 28))),
        ("last-7-days", date(2026, 11, 24), (date(2026, 11, 17), date(2026, 11, 23))),
        ("last-week", date(2026, 11, 23), (date(2026, 11, 16), date(2026, 11, 22))),  # Monday
        ("last-week", date(2026, 11, 29), (date(2026, 11, 16), date(2026, 11, 22))),  # Sunday
        ("last-week", date(2027, 1, 1), (date(2026, 12, 21), date(2026, 12, 27))),
        ("last-month", date(2026, 3, 15), (date(2026, 2, 1), date(2026, 2, 28))),
        ("last-month", date(2026, 1, 1), (date(2025, 12, 1), date(2025, 12, 31))),
    ],
)
def test_window_dates(window: Window, today: date, expected: tuple[date, date]) -> None:
    assert window_dates(window, today) == expected
