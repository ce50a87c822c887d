"""``LlmReportWriter``: the template writer's reports with narrative sections by a model.

For each report the template writer renders the skeleton (headers, computed totals,
tables, insights); one chat call per report asks the model for a few narrative sections
from a prompt in ``llm.prompts_dir``; each section is cleaned, checked against the data
(``grounding.check_narrative``) and placed under its heading. A section that is missing,
empty or not grounded is left to the template text and recorded as a warning (collected by
the activity into ``run_metadata.json``). Calls, tokens and warnings go to
``llm_usage.current_telemetry()``.

When the endpoint cannot answer (``LLM_UNAVAILABLE``: connection errors, timeouts, 5xx, 429
after the client's retries, an exhausted account quota, an answer of the wrong shape) the
report is the template writer's, with a warning; the activity's later reports then skip the
LLM. A rejected key (401/403) or a refused request (400/404/422: usually ``llm.model``)
still fails the run at once: those are settings to fix, and the first report says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import date

from pydantic import SecretStr

from volt_agent.config import LlmSettings
from volt_agent.domain.models import EnrichedData, EnrichedEntity, TogglAggregated, UserAggregate
from volt_agent.errors import QuotaExceededError, ResponseFormatError, RetryableSourceError
from volt_agent.reporting.digest import TeamDigest
from volt_agent.reporting.grounding import Facts, check_narrative, clean_narrative, facts_from_users
from volt_agent.reporting.insights import InsightSettings
from volt_agent.reporting.llm_client import ChatClient, OpenAIChatClient
from volt_agent.reporting.llm_compose import insert_narrative, replace_note, split_sections
from volt_agent.reporting.llm_context import person_context, team_context, toggl_context
from volt_agent.reporting.llm_usage import current_telemetry
from volt_agent.reporting.markdown import inline
from volt_agent.reporting.prompts import (
    PERSON,
    TEAM,
    TOGGL,
    NarrativeSection,
    Prompt,
    PromptLibrary,
)
from volt_agent.reporting.views import DayTotal, EntityNames
from volt_agent.reporting.writer import TEMPLATE_WRITER_NOTE, TemplateReportWriter
from volt_agent.storage.run_folder import user_slug

EXECUTIVE = "## Executive summary"
LLM_UNAVAILABLE = (RetryableSourceError, QuotaExceededError, ResponseFormatError)
"""Errors of an endpoint that cannot answer now: the report falls back to the template."""

TOGGL_SECTIONS = (
    NarrativeSection("summary", EXECUTIVE, "append"),
    NarrativeSection("activities", "## Top activities without a Fibery reference", "prepend"),
)
PERSON_SECTIONS = (
    NarrativeSection("summary", "## Summary", "replace"),
    NarrativeSection("entities", "## Fibery entities", "prepend"),
    NarrativeSection("activities", "## Activities without a Fibery reference", "prepend"),
)
TEAM_SECTIONS = (
    NarrativeSection("summary", EXECUTIVE, "append"),
    NarrativeSection("accomplishments", "## Accomplishments", "prepend"),
    NarrativeSection("focus", "## Focus areas", "prepend"),
    NarrativeSection("risks", "## Gaps and unusual patterns", "prepend"),
)


class LlmReportWriter:
    """``ReportWriter`` whose narrative comes from an OpenAI-compatible chat model."""

    def __init__(
        self,
        settings: LlmSettings,
        client: ChatClient,
        *,
        prompts: PromptLibrary | None = None,
        template: TemplateReportWriter | None = None,
        insight_settings: InsightSettings | None = None,
    ) -> None:
        self._settings = settings
        self._client = client
        self._prompts = prompts or PromptLibrary(settings.prompts_dir, settings.input_char_budget)
        self._template = template or TemplateReportWriter(insight_settings)
        self._insights = self._template.settings
        self.name = f"llm:{settings.model}"

    @classmethod
    def create(
        cls,
        settings: LlmSettings,
        api_key: SecretStr,
        insight_settings: InsightSettings | None = None,
    ) -> LlmReportWriter:
        """The writer over the official ``openai`` client; checks the prompt files now."""
        return cls(settings, OpenAIChatClient(settings, api_key), insight_settings=insight_settings)

    # The prompts (context, rendering, the facts to check the answer against) are computed in
    # a thread, as the template writer renders: they walk every person and entity.
    async def toggl_summary(
        self,
        data: TogglAggregated,
        days: Sequence[DayTotal] | None = None,
        names: EntityNames | None = None,
    ) -> str:
        skeleton = await self._template.toggl_summary(data, days, names)
        prompt, facts = await asyncio.to_thread(self._toggl_prompt, data, days, names)
        return await self._narrate("toggl summary", skeleton, prompt, facts)

    async def person_report(
        self,
        user: UserAggregate,
        entities: Mapping[tuple[str, str], EnrichedEntity],
        period: tuple[date, date],
    ) -> str:
        skeleton = await self._template.person_report(user, entities, period)
        prompt, facts = await asyncio.to_thread(self._person_prompt, user, entities, period)
        label = f"person report {user_slug(user.user_name, user.user_id)}"
        return await self._narrate(label, skeleton, prompt, facts)

    async def team_report(self, data: EnrichedData, digest: TeamDigest | None = None) -> str:
        skeleton = await self._template.team_report(data, digest)
        prompt, facts = await asyncio.to_thread(self._team_prompt, data, digest)
        return await self._narrate("team summary", skeleton, prompt, facts)

    def _toggl_prompt(
        self, data: TogglAggregated, days: Sequence[DayTotal] | None, names: EntityNames | None
    ) -> tuple[Prompt, Facts]:
        prompt = self._prompts.render(TOGGL, TOGGL_SECTIONS, toggl_context(data, days, names))
        return prompt, facts_from_users(data.users)

    def _person_prompt(
        self,
        user: UserAggregate,
        entities: Mapping[tuple[str, str], EnrichedEntity],
        period: tuple[date, date],
    ) -> tuple[Prompt, Facts]:
        context = person_context(user, entities, period, self._prompts, self._insights)
        return self._prompts.render(PERSON, PERSON_SECTIONS, context), facts_from_users([user])

    def _team_prompt(self, data: EnrichedData, digest: TeamDigest | None) -> tuple[Prompt, Facts]:
        context = team_context(data, self._insights, digest)
        prompt = self._prompts.render(TEAM, TEAM_SECTIONS, context)
        return prompt, facts_from_users(data.aggregated.users)

    async def _narrate(self, label: str, skeleton: str, prompt: Prompt, facts: Facts) -> str:
        telemetry = current_telemetry()
        if prompt.over_budget:
            telemetry.warn(
                f"{label}: the data exceeds llm.input_char_budget even with every text cut;"
                " ids and hours were kept"
            )
        if telemetry.llm_unavailable is not None:
            return self._unavailable(label, skeleton, "not asked: it failed earlier in this batch")
        try:
            completion = await self._client.complete(prompt.system, prompt.user)
        except LLM_UNAVAILABLE as exc:
            telemetry.llm_unavailable = str(exc)
            return self._unavailable(label, skeleton, str(exc))
        telemetry.add_call(completion.prompt_tokens, completion.completion_tokens)
        accepted, problems = self.accept(completion.text, prompt.sections, facts)
        if completion.finish_reason == "length" and accepted:
            last = [s.key for s in prompt.sections if s.key in accepted][-1]
            accepted.pop(last)
            problems.append(f"section '{last}' was cut off at llm.max_tokens")
        text, missing = insert_narrative(skeleton, prompt.sections, accepted)
        problems += [f"section '{k}' has no heading in the template report" for k in missing]
        for problem in problems:
            telemetry.warn(f"{label}: {problem}; the template text was kept")
        return replace_note(text, TEMPLATE_WRITER_NOTE, self._note(problems))

    def accept(
        self, answer: str, sections: Sequence[NarrativeSection], facts: Facts
    ) -> tuple[dict[str, str], list[str]]:
        """The grounded sections of ``answer`` (cleaned) and why the others were refused."""
        keys = [s.key for s in sections]
        raw = split_sections(answer, keys)
        accepted: dict[str, str] = {}
        problems: list[str] = []
        for key in keys:
            if key not in raw:
                problems.append(f"section '{key}' is missing from the model's answer")
                continue
            text = clean_narrative(raw[key])
            if not text:
                problems.append(f"section '{key}' is empty")
                continue
            issues = check_narrative(
                text, facts, self._settings.hours_tolerance, self._settings.percent_tolerance
            )
            if issues:
                problems.append(f"section '{key}' " + "; ".join(issues[:3]))
                continue
            accepted[key] = text
        return accepted, problems

    def _unavailable(self, label: str, skeleton: str, reason: str) -> str:
        """The template writer's report, its note and a warning saying the LLM did not answer."""
        current_telemetry().warn(
            f"{label}: the LLM did not answer ({reason}); the template text was kept"
        )
        note = (
            f"Written by the built-in template writer: the LLM model"
            f" {inline(self._settings.model, 80)} did not answer (see warnings in"
            " run_metadata.json)."
        )
        return replace_note(skeleton, TEMPLATE_WRITER_NOTE, note)

    def _note(self, problems: Sequence[str]) -> str:
        note = (
            f"Narrative sections written by the LLM model {inline(self._settings.model, 80)};"
            " headers, totals and tables computed from the data."
        )
        if problems:
            count = len(problems)
            note += (
                f" {count} narrative {'section' if count == 1 else 'sections'} fell back to"
                " the template text (see warnings in run_metadata.json)."
            )
        return note
