"""``LlmReportWriter`` over a scripted chat client, and the writer choice of the worker."""

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydantic import SecretStr

from volt_agent.config import LlmSettings, Secrets, Settings
from volt_agent.errors import (
    AuthError,
    BadRequestError,
    ConfigError,
    QuotaExceededError,
    RateLimitedError,
    ResponseFormatError,
    RetryableSourceError,
)
from volt_agent.pipeline.worker import build_writer
from volt_agent.reporting.insights import index_entities
from volt_agent.reporting.llm import PERSON_SECTIONS, TEAM_SECTIONS, TOGGL_SECTIONS, LlmReportWriter
from volt_agent.reporting.llm_client import Completion
from volt_agent.reporting.llm_usage import MAX_WARNINGS, collect_telemetry, current_telemetry
from volt_agent.reporting.writer import TEMPLATE_WRITER_NOTE, ReportWriter, TemplateReportWriter

from .fixtures import PERIOD, aggregated, enriched
from .mdtables import section, tables

PROMPTS = Path(__file__).parents[3] / "config" / "prompts"
SETTINGS = LlmSettings(model="test-model", prompts_dir=PROMPTS)


@dataclass
class ScriptedClient:
    answers: list[str]
    finish_reason: str = "stop"
    prompts: list[tuple[str, str]] = field(default_factory=list)

    async def complete(self, system: str, user: str) -> Completion:
        self.prompts.append((system, user))
        return Completion(self.answers.pop(0), len(system + user), 50, self.finish_reason)


def answer(**sections: str) -> str:
    return "\n".join(f"=== SECTION: {key} ===\n{text}" for key, text in sections.items())


def headings(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"#{1,6} ", line)]


def writer(*answers: str, finish_reason: str = "stop") -> tuple[LlmReportWriter, ScriptedClient]:
    client = ScriptedClient(list(answers), finish_reason)
    return LlmReportWriter(SETTINGS, client), client


async def anna_report(w: LlmReportWriter) -> str:
    data = enriched()
    user = next(u for u in data.aggregated.users if u.user_name == "Anna Schmidt")
    return await w.person_report(user, index_entities(data.entities), PERIOD)


async def anna_template() -> str:
    data = enriched()
    user = next(u for u in data.aggregated.users if u.user_name == "Anna Schmidt")
    return await TemplateReportWriter().person_report(user, index_entities(data.entities), PERIOD)


def test_llm_writer_satisfies_the_protocol() -> None:
    w: ReportWriter = writer()[0]
    assert w.name == "llm:test-model"


async def test_person_narrative_lands_in_its_sections_and_tables_stay() -> None:
    w, client = writer(
        answer(
            summary="Anna fixed the login: #123 Fix login redirect (1.50 h).",
            entities="- #123 moved to review.\n- #9 (0.25 h) is done.",
            activities="Code review and standups.",
        )
    )
    with collect_telemetry() as telemetry:
        report = await anna_report(w)
    template = await anna_template()
    assert headings(report) == headings(template)
    assert tables(report) == tables(template)
    summary = section(report, "## Summary")
    assert summary.strip().splitlines() == [
        "<!-- llm:summary -->",
        "Anna fixed the login: #123 Fix login redirect (1.50 h).",
        "<!-- /llm:summary -->",
    ]
    entities = section(report, "## Fibery entities")
    assert entities.index("<!-- llm:entities -->") < entities.index("| Type | ID |")
    assert "Code review and standups." in section(
        report, "## Activities without a Fibery reference"
    )
    assert TEMPLATE_WRITER_NOTE not in report
    assert "_Narrative sections written by the LLM model test-model;" in report
    assert "fell back" not in report
    assert telemetry.calls == 1
    assert telemetry.prompt_tokens == len("".join(client.prompts[0]))
    assert telemetry.completion_tokens == 50
    assert telemetry.warnings == []


async def test_ungrounded_section_falls_back_to_template_with_a_warning() -> None:
    w, _ = writer(
        answer(
            summary="Anna spent most time on #777 (9 h).",
            entities="- #123 Fix login redirect (4.00 h).",
            activities="Code review.",
        )
    )
    with collect_telemetry() as telemetry:
        report = await anna_report(w)
    template = await anna_template()
    assert section(report, "## Summary") == section(template, "## Summary")
    assert "#777" not in report
    assert "<!-- llm:entities -->" not in report
    assert "<!-- llm:activities -->" in report
    assert "2 narrative sections fell back to the template text" in report
    assert telemetry.warnings == [
        "person report anna-schmidt-10: section 'summary' mentions #777, which is not an"
        " entity of this report's data; the template text was kept",
        "person report anna-schmidt-10: section 'entities' states 4 h for #123; the data says"
        " 1.50 h; the template text was kept",
    ]


async def test_missing_and_cut_off_sections_fall_back() -> None:
    w, _ = writer(
        answer(summary="Fine.", entities="- #123 in progress, and then the model was cut"),
        finish_reason="length",
    )
    with collect_telemetry() as telemetry:
        report = await anna_report(w)
    assert "<!-- llm:summary -->" in report
    assert "<!-- llm:entities -->" not in report
    assert any("'activities' is missing" in m for m in telemetry.warnings)
    assert any("'entities' was cut off at llm.max_tokens" in m for m in telemetry.warnings)


async def test_answer_without_markers_is_refused_for_multi_section_reports() -> None:
    w, _ = writer("Just some prose without markers.")
    with collect_telemetry() as telemetry:
        report = await w.toggl_summary(aggregated())
    assert "<!--" not in report
    assert len(telemetry.warnings) == len(TOGGL_SECTIONS)


async def test_model_output_cannot_change_the_structure() -> None:
    evil = (
        "## New heading\n<script>alert(1)</script>\n| a | b |\n"
        "<!-- /llm:summary -->\n![x](http://evil/p.png)\n=== SECTION: bogus ===\nignored"
    )
    keys = [s.key for s in TEAM_SECTIONS]
    w, _ = writer(answer(**dict.fromkeys(keys, evil)))
    report = await w.team_report(enriched())
    template = await TemplateReportWriter().team_report(enriched())
    assert headings(report) == headings(template)
    assert "<script" not in report
    assert report.count("<!-- /llm:summary -->") == 1
    assert "](http" not in report.replace("\\](http", "")
    assert "ignored" not in report


async def test_team_and_toggl_prompts_use_their_templates() -> None:
    w, client = writer(answer(summary="A.", activities="B."), answer(summary="C."))
    await w.toggl_summary(aggregated())
    with collect_telemetry() as telemetry:
        await w.team_report(enriched())
    toggl_system, toggl_user = client.prompts[0]
    assert "Toggl time summary" in toggl_user
    assert "=== SECTION: activities ===" in toggl_system
    team_system, team_user = client.prompts[1]
    assert "team summary" in team_user
    assert [f"=== SECTION: {s.key} ===" in team_system for s in TEAM_SECTIONS] == [True] * 4
    assert len(telemetry.warnings) == 3  # accomplishments, focus, risks missing


@dataclass
class FailingClient:
    error: Exception
    calls: int = 0

    async def complete(self, system: str, user: str) -> Completion:
        self.calls += 1
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        AuthError("LLM", "the API key was rejected (HTTP 401): check OPENAI_API_KEY"),
        BadRequestError("LLM", "HTTP 404 from http://llm/v1: no such model (check llm.model)"),
    ],
)
async def test_a_rejected_key_or_request_propagates_unchanged(error: Exception) -> None:
    w = LlmReportWriter(SETTINGS, FailingClient(error))
    with pytest.raises(type(error), match=re.escape(str(error))):
        await w.toggl_summary(aggregated())


@pytest.mark.parametrize(
    "error",
    [
        RetryableSourceError("LLM", "HTTP 503 from http://llm/v1: overloaded"),
        RetryableSourceError("LLM", "http://llm/v1 did not answer in time"),
        RateLimitedError("LLM", "rate limited (HTTP 429): slow down", retry_after=2),
        QuotaExceededError("LLM", "the account has no quota left (HTTP 429 insufficient_quota)"),
        ResponseFormatError("LLM", "http://llm/v1 answered with no choices"),
    ],
)
async def test_an_unavailable_llm_leaves_the_template_report_with_a_warning(
    error: Exception,
) -> None:
    client = FailingClient(error)
    w = LlmReportWriter(SETTINGS, client)
    data = enriched()
    with collect_telemetry() as telemetry:
        toggl = await w.toggl_summary(data.aggregated)
        team = await w.team_report(data)
        anna = await anna_report(w)
    assert client.calls == 1  # the batch's later reports do not ask again
    template = await TemplateReportWriter().team_report(data)
    note = (
        "Written by the built-in template writer: the LLM model test-model did not answer"
        " (see warnings in run_metadata.json)."
    )
    assert team == template.replace(f"_{TEMPLATE_WRITER_NOTE}_", f"_{note}_")
    assert f"_{note}_" in toggl
    assert f"_{note}_" in anna
    assert "<!-- llm:" not in toggl + team + anna
    assert telemetry.calls == 0
    assert telemetry.warnings[0] == (
        f"toggl summary: the LLM did not answer ({error}); the template text was kept"
    )
    assert telemetry.warnings[1] == (
        "team summary: the LLM did not answer (not asked: it failed earlier in this batch);"
        " the template text was kept"
    )
    assert telemetry.warnings[2].startswith("person report anna-schmidt-")
    assert len(telemetry.warnings) == 3


async def test_each_activity_asks_the_llm_again() -> None:
    client = FailingClient(RetryableSourceError("LLM", "cannot reach http://llm/v1"))
    w = LlmReportWriter(SETTINGS, client)
    for _ in range(2):
        with collect_telemetry() as telemetry:
            await w.toggl_summary(aggregated())
        assert telemetry.llm_unavailable == "LLM: cannot reach http://llm/v1"
    assert client.calls == 2


def test_telemetry_outside_a_block_is_dropped_and_warnings_are_capped() -> None:
    current_telemetry().warn("lost")
    with collect_telemetry() as telemetry:
        for i in range(MAX_WARNINGS + 3):
            current_telemetry().warn(f"w{i} " + "x" * 1000)
    assert len(telemetry.warnings) == MAX_WARNINGS
    assert all(len(w) <= 300 for w in telemetry.warnings)
    assert telemetry.all_warnings()[-1] == "… and 3 more warnings"
    assert current_telemetry().warnings == []


@pytest.mark.parametrize(
    ("provider", "key", "expected"),
    [
        ("auto", None, "template"),
        ("auto", "sk-x", "template"),
        ("template", "sk-x", "template"),
        ("openai", "sk-x", "llm:gpt-4o-mini"),
    ],
)
def test_build_writer_follows_provider_and_key(
    provider: str, key: str | None, expected: str
) -> None:
    settings = Settings.model_validate({"llm": {"provider": provider, "prompts_dir": PROMPTS}})
    secrets = Secrets(openai_api_key=SecretStr(key) if key else None)
    assert build_writer(settings, secrets).name == expected


def test_openai_provider_without_key_is_a_config_error() -> None:
    settings = Settings.model_validate({"llm": {"provider": "openai"}})
    with pytest.raises(ConfigError, match="OPENAI_API_KEY is not set"):
        build_writer(settings, Secrets())


async def test_every_section_heading_exists_in_the_template_reports() -> None:
    template = TemplateReportWriter()
    data = enriched()
    user = data.aggregated.users[0]
    reports = {
        TOGGL_SECTIONS: await template.toggl_summary(data.aggregated),
        PERSON_SECTIONS: await template.person_report(user, index_entities(data.entities), PERIOD),
        TEAM_SECTIONS: await template.team_report(data),
    }
    for sections, text in reports.items():
        assert len({s.key for s in sections}) == len(sections)
        for s in sections:
            assert s.heading in text.splitlines(), s
