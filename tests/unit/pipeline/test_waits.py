"""What a followed run shows while an activity waits for a delayed retry."""

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from rich.console import Console
from temporalio.api.common.v1 import ActivityType
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionResponse

from volt_agent.pipeline.types import Progress
from volt_agent.pipeline.waits import waiting_note
from volt_agent.progress_view import plain_line, render

NEXT = datetime(2026, 11, 30, 13, 5, 42, tzinfo=UTC)
SCHEDULED = PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED


def pending(
    kind: str, message: str, *, state: PendingActivityState.ValueType = SCHEDULED
) -> DescribeWorkflowExecutionResponse:
    at = Timestamp()
    at.FromDatetime(NEXT)
    info = PendingActivityInfo(
        activity_type=ActivityType(name="fetch_toggl_data"),
        state=state,
        attempt=3,
        next_attempt_schedule_time=at,
        last_failure=Failure(
            message=message, application_failure_info=ApplicationFailureInfo(type=kind)
        ),
    )
    return DescribeWorkflowExecutionResponse(pending_activities=[info])


def test_a_quota_wait_names_the_api_and_the_reset_time() -> None:
    quota = pending("QuotaWaitError", "Toggl: search: the hourly request quota is used up")
    assert waiting_note(quota) == "waiting for the Toggl quota until 13:05 UTC"


def test_another_delayed_retry_says_when_and_why() -> None:
    note = waiting_note(pending("RateLimitedError", "Toggl: still rate limited"))
    assert note == "fetch_toggl_data retries at 13:05:42 UTC (attempt 3): Toggl: still rate limited"


def test_a_running_activity_or_none_waits_for_nothing() -> None:
    started = PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
    assert waiting_note(pending("QuotaWaitError", "Toggl: x", state=started)) is None
    assert waiting_note(DescribeWorkflowExecutionResponse()) is None


def test_the_progress_line_and_the_live_view_show_the_wait() -> None:
    progress = Progress(
        run_id="r", current_stage="toggl", current_activity="fetch_toggl_data", activity_index=1
    )
    assert "waiting" not in plain_line(progress)
    waiting = progress.model_copy(update={"waiting": "waiting for the Toggl quota until 13:05 UTC"})
    assert plain_line(waiting).endswith("· waiting for the Toggl quota until 13:05 UTC")
    console = Console(width=120, record=True)
    console.print(render(waiting))
    assert "waiting for the Toggl quota until 13:05 UTC" in console.export_text()
