"""What writing reports cost and what went wrong on the way, collected per activity.

Writers keep the ``ReportWriter`` contract (they return text); the LLM writer records calls,
tokens and warnings into the ``ReportTelemetry`` of the current context. An activity opens
one with ``collect_telemetry()`` around its writer calls; each activity runs in its own
asyncio task, so concurrent activities never mix their numbers. Outside such a block the
records are dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

MAX_WARNINGS = 20
"""Warnings kept per activity: results cross Temporal and must stay small."""
MAX_WARNING_CHARS = 300


@dataclass
class ReportTelemetry:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    warnings: list[str] = field(default_factory=list)
    dropped_warnings: int = 0
    llm_unavailable: str | None = None
    """Why a call of this activity found the LLM unavailable: its later reports skip the LLM
    (one outage costs one call's retries per activity, not one per report)."""

    def add_call(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.calls += 1
        self.prompt_tokens += max(prompt_tokens, 0)
        self.completion_tokens += max(completion_tokens, 0)

    def warn(self, message: str) -> None:
        if len(self.warnings) >= MAX_WARNINGS:
            self.dropped_warnings += 1
            return
        text = " ".join(message.split())
        if len(text) > MAX_WARNING_CHARS:
            text = text[: MAX_WARNING_CHARS - 1] + "…"
        self.warnings.append(text)

    def all_warnings(self) -> list[str]:
        """The warnings, plus one line counting those left out."""
        if not self.dropped_warnings:
            return list(self.warnings)
        return [*self.warnings, f"… and {self.dropped_warnings} more warnings"]


_CURRENT: ContextVar[ReportTelemetry | None] = ContextVar("report_telemetry", default=None)


@contextmanager
def collect_telemetry() -> Iterator[ReportTelemetry]:
    """Collect what writers record inside the ``with`` block (nested blocks each get theirs)."""
    telemetry = ReportTelemetry()
    token = _CURRENT.set(telemetry)
    try:
        yield telemetry
    finally:
        _CURRENT.reset(token)


def current_telemetry() -> ReportTelemetry:
    """The collector of the current context, or a throwaway one."""
    return _CURRENT.get() or ReportTelemetry()
