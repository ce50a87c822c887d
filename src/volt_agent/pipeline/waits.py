"""What a running workflow waits for, read from Temporal's description of it.

An activity that ended an attempt with a delayed retry (a used-up hourly quota, a long
``Retry-After``) is, until its next attempt, a pending activity in state ``SCHEDULED`` with
its last failure and the time of the next attempt. That is the only place the wait shows:
the workflow itself just awaits the activity, so it stays deterministic and knows nothing.
"""

from __future__ import annotations

from datetime import UTC

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionResponse

QUOTA_WAIT_TYPE = "QuotaWaitError"


def waiting_note(description: DescribeWorkflowExecutionResponse) -> str | None:
    """One line on what the run waits for, e.g. "waiting for the Toggl quota until 13:05 UTC";
    ``None`` when no activity waits for a retry. ``description``: ``handle.describe()``'s
    ``raw_description``."""
    for pending in description.pending_activities:
        if pending.state != PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED:
            continue
        if not (
            pending.HasField("next_attempt_schedule_time") and pending.HasField("last_failure")
        ):
            continue
        until = pending.next_attempt_schedule_time.ToDatetime(tzinfo=UTC)
        failure = pending.last_failure
        if failure.application_failure_info.type == QUOTA_WAIT_TYPE:
            source = failure.message.partition(":")[0].strip() or "API"
            return f"waiting for the {source} quota until {until:%H:%M} UTC"
        return (
            f"{pending.activity_type.name} retries at {until:%H:%M:%S} UTC"
            f" (attempt {pending.attempt}): {failure.message}"
        )
    return None
