"""Date windows of scheduled runs: pure functions of the day the run starts on."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal, get_args

Window = Literal["yesterday", "last-7-days", "last-week", "last-month"]
WINDOWS: tuple[str, ...] = get_args(Window)


def window_dates(window: Window, today: date) -> tuple[date, date]:
    """``(start, end)``, both inclusive, of ``window`` as seen on ``today``.

    ``yesterday``: the day before; ``last-7-days``: the seven days before today;
    ``last-week``: Monday to Sunday of the previous ISO week; ``last-month``: the previous
    calendar month. Today itself is never included: its entries are still being tracked.
    """
    yesterday = today - timedelta(days=1)
    if window == "yesterday":
        return yesterday, yesterday
    if window == "last-7-days":
        return today - timedelta(days=7), yesterday
    if window == "last-week":
        monday = today - timedelta(days=today.weekday() + 7)
        return monday, monday + timedelta(days=6)
    first_of_month = today.replace(day=1)
    last_month_end = first_of_month - timedelta(days=1)
    return last_month_end.replace(day=1), last_month_end
