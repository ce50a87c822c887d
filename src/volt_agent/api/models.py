"""Request and response bodies of the management API (they make its OpenAPI schema)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from volt_agent.pipeline.types import DeliveryChannel, StartFrom
from volt_agent.schedules.windows import Window

RUN_ID_REGEX = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
SCHEDULE_NAME_REGEX = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$"
EMAIL_REGEX = r"^[^,\s@]+@[^,\s@]+$"
Email = Annotated[str, StringConstraints(pattern=EMAIL_REGEX, max_length=254)]


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartRunRequest(RequestBody):
    start_date: date
    end_date: date
    users: list[Email] | None = Field(
        None, min_length=1, max_length=500, description="Toggl user emails; default everyone"
    )
    start_from: StartFrom = "toggl"
    run_id: str | None = Field(None, pattern=RUN_ID_REGEX)
    force: bool = Field(
        False,
        description="Start from Toggl even if run_id names an existing run, wiping it"
        " (otherwise 409); not needed with start_from fibery",
    )
    deliver: list[DeliveryChannel] = Field(
        default_factory=list, max_length=3, description="Deliver the reports when the run ends"
    )


class RunStarted(BaseModel):
    run_id: str
    workflow_id: str
    status: Literal["in_progress"] = "in_progress"


class CancelRequested(BaseModel):
    run_id: str
    workflow_id: str
    status: Literal["cancel_requested"] = "cancel_requested"


class CreateScheduleRequest(RequestBody):
    name: str = Field(pattern=SCHEDULE_NAME_REGEX)
    cron: str = Field(min_length=1, max_length=100, examples=["0 7 * * MON"])
    window: Window
    users: list[Email] | None = Field(None, min_length=1, max_length=500)
    timezone: str = Field("UTC", min_length=1, max_length=64)
    paused: bool = False
    deliver: list[DeliveryChannel] = Field(
        default_factory=list, max_length=3, description="Deliver each run's reports"
    )


class Triggered(BaseModel):
    name: str
    status: Literal["triggered"] = "triggered"


class Check(BaseModel):
    ok: bool
    detail: str


class Health(BaseModel):
    status: Literal["ok", "unhealthy"]
    temporal: Check
    workers: Check
    output_dir: Check


class ErrorBody(BaseModel):
    detail: str
