"""Prompt templates from ``llm.prompts_dir`` (default ``config/prompts/``), rendered with jinja2.

Everything a template prints is data unless code marked it ``Trusted``: every other string
(names, descriptions, comments, field values, type keys — all from Toggl or Fibery) comes
out as a JSON string literal, so it stays on one line, inside quotes, with ``<``/``>``
escaped, and cannot pose as an instruction or close the ``<data>`` block. Numbers, hours
and dates formatted by code are ``Trusted``.

The rendered data obeys ``llm.input_char_budget``: when it is too long, ``text_cap`` cuts
the longest untrusted texts first; ids and hours are never cut (they are trusted).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    pass_context,
)
from jinja2.runtime import Context

from volt_agent.errors import ConfigError
from volt_agent.reporting.grounding import cut, text_cap

SYSTEM = "system.md.j2"
TOGGL = "toggl_summary.md.j2"
PERSON = "person.md.j2"
PERSON_MATCHED = "person_matched.md.j2"
PERSON_UNMATCHED = "person_unmatched.md.j2"
TEAM = "team.md.j2"
REQUIRED = (SYSTEM, TOGGL, PERSON, PERSON_MATCHED, PERSON_UNMATCHED, TEAM)
TYPE_HINTS_DIR = "types"
TYPE_HINT_NAMES = ("task", "bug", "feature", "build", "chore")
"""Hint files ``types/{name}.md`` shipped in ``config/prompts``; any other ``*.md`` there works."""

_CAP = "_text_cap"
_LENGTHS = "_text_lengths"
_ROUNDS = 4


class Trusted(str):
    """Text written by volt-agent itself (hours, dates, ids, hint files): printed as is."""

    __slots__ = ()


def trusted(value: object) -> Trusted:
    return Trusted(str(value))


@dataclass(frozen=True)
class NarrativeSection:
    """A section the model writes; where it lands in the report is decided by code.

    ``mode``: ``replace`` the body under ``heading``, ``prepend`` before it, or ``append``
    after it (before the next heading).
    """

    key: str
    heading: str
    mode: Literal["replace", "prepend", "append"]

    def __post_init__(self) -> None:
        # the key is printed into the system prompt as the marker the model must repeat
        object.__setattr__(self, "key", Trusted(self.key))


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str
    sections: tuple[NarrativeSection, ...]
    cap: int | None = None
    """Characters each untrusted text was cut to (``None``: nothing cut)."""
    over_budget: bool = False
    """True when even with every text cut the data exceeds the budget (ids and hours stay)."""


@dataclass
class _Render:
    text: str
    lengths: list[int] = field(default_factory=list)


def quote(text: str, cap: int | None = None) -> str:
    """Untrusted text as a one-line JSON string literal, cut to ``cap`` characters first."""
    literal = json.dumps(cut(text, cap), ensure_ascii=False)
    return literal.replace("<", "\\u003c").replace(">", "\\u003e")


@pass_context
def _finalize(context: Context, value: Any) -> str:
    if isinstance(value, Trusted):
        return str(value)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    text = str(value)
    lengths = context.get(_LENGTHS)
    if isinstance(lengths, list):
        lengths.append(len(text))
    cap = context.get(_CAP)
    return quote(text, cap if isinstance(cap, int) else None)


class PromptLibrary:
    """The prompt templates of one directory, checked when loaded."""

    def __init__(self, directory: Path, char_budget: int) -> None:
        self.directory = directory
        self.char_budget = char_budget
        if not directory.is_dir():
            raise ConfigError(
                f"prompt directory {directory} does not exist: set llm.prompts_dir to the"
                " folder holding the prompt templates (see config/prompts/ in the repository)"
            )
        self._env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=False,  # noqa: S701 - plain-text prompts; untrusted text is JSON-quoted
            undefined=StrictUndefined,
            finalize=_finalize,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        for name in REQUIRED:
            self._load(name)
        self.type_hints = self._read_hints(directory / TYPE_HINTS_DIR)

    def _load(self, name: str) -> Any:
        try:
            return self._env.get_template(name)
        except TemplateNotFound as exc:
            raise ConfigError(
                f"prompt template {self.directory / (exc.name or name)} is missing: restore it from"
                " config/prompts/ or point llm.prompts_dir elsewhere"
            ) from exc
        except TemplateError as exc:
            raise ConfigError(f"prompt template {self.directory / name} is invalid: {exc}") from exc

    @staticmethod
    def _read_hints(directory: Path) -> dict[str, Trusted]:
        if not directory.is_dir():
            return {}
        return {
            path.stem.lower(): Trusted(path.read_text(encoding="utf-8").strip())
            for path in sorted(directory.glob("*.md"))
        }

    def hint_for(self, type_key: str) -> Trusted | None:
        """The hint of a ``Space/Type`` by its type name; ``Sub-bug`` uses ``bug``."""
        name = type_key.rpartition("/")[2].strip().lower()
        name = name.removeprefix("sub-").removeprefix("sub ")
        return self.type_hints.get(name)

    def render(
        self, name: str, sections: Sequence[NarrativeSection], context: Mapping[str, Any]
    ) -> Prompt:
        """System and user message of template ``name``; the user message fits the budget."""
        system = self._render(SYSTEM, {"sections": sections, **context}, None).text
        first = self._render(name, {"sections": sections, **context}, None)
        if len(first.text) <= self.char_budget:
            return Prompt(system, first.text, tuple(sections))
        budget = self.char_budget - (len(first.text) - sum(first.lengths))
        rendered = first
        cap: int | None = None
        for _ in range(_ROUNDS):
            cap = text_cap(first.lengths, max(budget, 0))
            rendered = self._render(name, {"sections": sections, **context}, cap)
            overshoot = len(rendered.text) - self.char_budget
            if overshoot <= 0 or cap == 0:
                break
            budget -= overshoot
        over = len(rendered.text) > self.char_budget
        return Prompt(system, rendered.text, tuple(sections), cap=cap, over_budget=over)

    def _render(self, name: str, context: Mapping[str, Any], cap: int | None) -> _Render:
        lengths: list[int] = []
        template = self._load(name)
        try:
            text = template.render({**context, _CAP: cap, _LENGTHS: lengths})
        except TemplateError as exc:
            raise ConfigError(f"prompt template {self.directory / name} failed: {exc}") from exc
        return _Render(text.strip() + "\n", lengths)
