"""Parse a Toggl description for the Fibery reference the Fibery↔Toggl integration writes.

Format: ``<entity name> #<public id> [<database>] [<type>] [<project>]``. The rightmost
``#<digits>`` is the id; bracket tags after it give database, type and project in that
order. Anything else is plain text. The parser never raises: odd input is unmatched text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property

from volt_agent.config import ParsingSettings
from volt_agent.domain.models import ParsedDescription

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class DescriptionParser:
    """Compiled patterns from ``ParsingSettings``; build once, call for every entry."""

    settings: ParsingSettings = field(default_factory=ParsingSettings)

    @cached_property
    def _id(self) -> re.Pattern[str]:
        return re.compile(self.settings.id_pattern)

    @cached_property
    def _tag(self) -> re.Pattern[str]:
        return re.compile(self.settings.tag_pattern)

    def parse(self, description: str | None) -> ParsedDescription:
        raw = description or ""
        normalised = unicodedata.normalize("NFC", raw)
        match = _rightmost(self._id, normalised)
        if match is None:
            return ParsedDescription(raw=raw, text=clean_text(_strip_tags(self._tag, normalised)))
        tags = [t.strip() for t in self._tag.findall(normalised[match.end() :])]
        tags = [t for t in tags if t]
        name = clean_text(_strip_tags(self._tag, normalised[: match.start()]))
        return ParsedDescription(
            raw=raw,
            text=name,
            entity_id=_entity_id(match),
            database=tags[0] if len(tags) > 0 else None,
            entity_type=tags[1] if len(tags) > 1 else None,
            project=tags[2] if len(tags) > 2 else None,
        )


def _rightmost(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    matches = list(pattern.finditer(text))
    return matches[-1] if matches else None


def _entity_id(match: re.Match[str]) -> str:
    value = match.group(1) if match.re.groups else match.group(0).lstrip("#")
    return str(int(value)) if value.isdecimal() and value.isascii() else value


def id_sort_key(public_id: str) -> tuple[int, int, str]:
    """Numeric ids in numeric order, anything else after them in text order."""
    if public_id.isdecimal() and public_id.isascii():
        return (0, int(public_id), "")
    return (1, 0, public_id)


def _strip_tags(pattern: re.Pattern[str], text: str) -> str:
    return pattern.sub(" ", text)


def clean_text(text: str) -> str:
    """Collapse whitespace and trim; used as the grouping key of unmatched activities."""
    return _WHITESPACE.sub(" ", text).strip()
