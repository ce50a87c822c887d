"""The one activity of ``ScheduledPipeline``: the window's dates in the schedule's time zone.

Reading the tz database is I/O, which workflow code may not do; as a local activity the
answer is recorded in history, so a replay gets the same dates even after a tzdata update.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from temporalio import activity

from volt_agent.pipeline.types import Message
from volt_agent.schedules.windows import Window, window_dates


class WindowRequest(Message):
    window: Window
    timezone: str
    moment: datetime


class WindowDates(Message):
    start_date: date
    end_date: date


@activity.defn(name="resolve_schedule_window")
async def resolve_schedule_window(request: WindowRequest) -> WindowDates:
    today = request.moment.astimezone(ZoneInfo(request.timezone)).date()
    start, end = window_dates(request.window, today)
    return WindowDates(start_date=start, end_date=end)
