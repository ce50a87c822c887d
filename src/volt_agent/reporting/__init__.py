"""Markdown reports of a run: the writer contract, the template writer and its insights."""

from volt_agent.reporting.insights import (
    Insight,
    InsightKind,
    InsightSettings,
    index_entities,
    team_insights,
    user_insights,
)
from volt_agent.reporting.writer import TEMPLATE_WRITER_NOTE, ReportWriter, TemplateReportWriter

__all__ = [
    "TEMPLATE_WRITER_NOTE",
    "Insight",
    "InsightKind",
    "InsightSettings",
    "ReportWriter",
    "TemplateReportWriter",
    "index_entities",
    "team_insights",
    "user_insights",
]
