"""Putting model-written narrative into a report whose skeleton was written by code.

The model answers with sections, each introduced by a line ``=== SECTION: key ===``.
``split_sections`` reads them back; ``insert_narrative`` places each accepted section into
the template writer's markdown under its heading, between ``<!-- llm:key -->`` markers.
Headings, totals and tables are never touched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from volt_agent.reporting.prompts import NarrativeSection

_MARKER = re.compile(
    r"^[ \t]*=+[ \t]*SECTION[ \t]*:[ \t]*([A-Za-z_]+)[ \t]*=*[ \t]*$", re.MULTILINE
)


def split_sections(text: str, expected: Sequence[str]) -> dict[str, str]:
    """Section key → raw text. Unknown keys are dropped, the first of a repeated key wins.

    An answer without any marker counts as the one section when exactly one is expected.
    """
    matches = list(_MARKER.finditer(text))
    if not matches:
        return {expected[0]: text.strip()} if len(expected) == 1 and text.strip() else {}
    found: dict[str, str] = {}
    for i, match in enumerate(matches):
        key = match.group(1).lower()
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        if key in expected and key not in found:
            found[key] = text[match.end() : end].strip()
    return found


def _block(key: str, body: str) -> list[str]:
    return [f"<!-- llm:{key} -->", *body.split("\n"), f"<!-- /llm:{key} -->"]


def _section_end(lines: list[str], start: int) -> int:
    level = len(lines[start]) - len(lines[start].lstrip("#"))
    for i in range(start + 1, len(lines)):
        marks = len(lines[i]) - len(lines[i].lstrip("#"))
        if 0 < marks <= level and lines[i][marks : marks + 1] == " ":
            return i
    return len(lines)


def insert_narrative(
    markdown: str, sections: Sequence[NarrativeSection], narrative: Mapping[str, str]
) -> tuple[str, list[str]]:
    """``markdown`` with each section of ``narrative`` placed under its heading.

    Returns the new text and the keys whose heading was not found (left out).
    """
    lines = markdown.split("\n")
    missing = []
    for section in sections:
        body = narrative.get(section.key)
        if body is None:
            continue
        try:
            start = lines.index(section.heading)
        except ValueError:
            missing.append(section.key)
            continue
        end = _section_end(lines, start)
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1
        block = _block(section.key, body)
        if section.mode == "replace":
            new = [*lines[: start + 1], "", *block, *lines[end:]]
        elif section.mode == "prepend":
            new = [*lines[: start + 1], "", *block, *lines[start + 1 :]]
        else:
            new = [*lines[:end], "", *block, *lines[end:]]
        lines = new
    return "\n".join(lines), missing


def replace_note(markdown: str, old: str, new: str) -> str:
    """The report with its writer note line ``_{old}_`` replaced by ``_{new}_`` (first only)."""
    return markdown.replace(f"_{old}_", f"_{new}_", 1)
