"""Keeping model-written text honest and harmless. Pure functions, no I/O.

* ``text_cap`` shares a character budget among untrusted texts: the longest are cut first.
* ``clean_narrative`` makes model output unable to change a report's structure (no headings,
  HTML, links or images; bounded length).
* ``check_narrative`` compares what the output says about entities with the data: every
  ``#id`` must be an entity of the input, and hours stated for an entity must match.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from volt_agent.domain.models import UserAggregate

ELLIPSIS = "…"
NARRATIVE_LIMIT = 4000
"""Characters of one narrative section kept; the rest is cut (the model was told less)."""

_ID = re.compile(r"(?<![\w&])#(\d+)\b")
_HOURS = re.compile(r"(?<![\w.,])(\d+(?:[.,]\d+)?)\s*(?:h|hrs?|hours?)\b", re.IGNORECASE)
_SPENT_ON = re.compile(r"\s*(?:on|for|to|into|towards|in|at)\s+(?:[^\s#.,;]+\s+){0,3}#(\d+)\b")
_CLAUSE_END = re.compile(r"[.;!?,](?=\s|$)|\n")
_HEADING = re.compile(r"^\s{0,3}#{1,6}(?:\s+|$)(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^\s{0,3}(?:=+|-{2,}|\*{3,}|_{3,})\s*$")
_FENCE = re.compile(r"^\s{0,3}(?:`{3,}|~{3,})")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_ESCAPES = str.maketrans({"<": "&lt;", ">": "&gt;", "[": "\\[", "]": "\\]", "`": "'"})


def text_cap(lengths: Sequence[int], budget: int) -> int | None:
    """The largest per-text length ``c`` with ``sum(min(len, c)) <= budget``.

    ``None`` when everything fits uncut. Cutting every text longer than ``c`` to ``c``
    shortens the longest texts first and leaves short ones whole. ``budget <= 0`` gives 0.
    """
    if sum(lengths) <= budget:
        return None
    if budget <= 0:
        return 0
    ordered = sorted(lengths)
    remaining = budget
    for index, length in enumerate(ordered):
        left = len(ordered) - index
        if length * left > remaining:
            return remaining // left
        remaining -= length
    return ordered[-1]  # unreachable: the sum exceeded the budget


def cut(text: str, cap: int | None) -> str:
    """``text`` cut to ``cap`` characters ending in "…" (``None``: uncut)."""
    if cap is None or len(text) <= cap:
        return text
    if cap <= 1:
        return ELLIPSIS if cap == 1 else ""
    return text[: cap - 1].rstrip() + ELLIPSIS


def clean_narrative(text: str, limit: int = NARRATIVE_LIMIT) -> str:
    """Model output as markdown paragraphs and lists that cannot alter the surrounding report.

    Headings become bold lines, setext underlines, rules and code fences are dropped,
    ``<``/``>`` become entities (no HTML, no comment markers), brackets are escaped (no links
    or images that could load a URL) and backticks become quotes. Blank-line runs shrink to
    one; the result is cut to ``limit`` characters.
    """
    lines: list[str] = []
    for raw in _CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.rstrip()
        if _FENCE.match(line) or _SETEXT.match(line):
            continue
        line = line.translate(_ESCAPES)
        heading = _HEADING.match(line)
        if heading:
            line = f"**{heading.group(1)}**" if heading.group(1) else ""
        if not line and (not lines or not lines[-1]):
            continue
        lines.append(line)
    return cut("\n".join(lines).strip(), limit)


@dataclass(frozen=True)
class Facts:
    """What a narrative may say about entities: their public ids and the hours of each.

    ``hours`` maps a public id to every hours figure the data holds for it (team total and
    per person); an id of two types (``Scrum/Task #9``, ``Scrum/Bug #9``) has both types'.
    """

    hours: Mapping[str, frozenset[float]]


def facts_from_users(users: Iterable[UserAggregate]) -> Facts:
    """Facts of a set of people: per entity id its total and each person's hours on it."""
    totals: dict[tuple[str | None, str], int] = defaultdict(int)
    figures: dict[str, set[float]] = defaultdict(set)
    for user in users:
        for matched in user.matched:
            totals[(matched.type_key, matched.entity_id)] += matched.seconds
            figures[matched.entity_id].add(round(matched.seconds / 3600, 2))
    for (_, public_id), seconds in totals.items():
        figures[public_id].add(round(seconds / 3600, 2))
    return Facts({k: frozenset(v) for k, v in figures.items()})


def check_narrative(text: str, facts: Facts, tolerance: float = 0.1) -> list[str]:
    """Problems of ``text`` against ``facts``; empty when it is grounded.

    Every ``#<digits>`` must be an id of ``facts``. An hours figure (``4.5 h``, ``2 hours``)
    belongs to the ``#id`` it is spent "on"/"for" (``3 h on task #12``), else to the last
    ``#id`` before it in its clause (``#123 Fix login (4.5 h)``); clauses end at ``.,;!?``
    before a space or at a line break. It must be within ``tolerance`` of one of that
    entity's figures. Hours not attributed to an id are not checked.
    """
    problems: list[str] = []
    for match in _ID.finditer(text):
        if match.group(1) not in facts.hours and f"#{match.group(1)}" not in problems:
            problems.append(f"#{match.group(1)}")
    unknown = [f"mentions {p}, which is not an entity of this report's data" for p in problems]
    wrong: list[str] = []
    for clause in _clauses(text):
        ids = [(m.start(), m.end(), m.group(1)) for m in _ID.finditer(clause)]
        if not ids:
            continue
        for hours_match in _HOURS.finditer(clause):
            public_id = _owner(clause, ids, hours_match.start(), hours_match.end())
            allowed = facts.hours.get(public_id) if public_id else None
            if allowed is None:
                continue
            stated = float(hours_match.group(1).replace(",", "."))
            if all(abs(stated - value) > tolerance + 1e-9 for value in allowed):
                expected = " or ".join(f"{v:.2f}" for v in sorted(allowed))
                wrong.append(f"states {stated:g} h for #{public_id}; the data says {expected} h")
    return unknown + wrong


def _clauses(text: str) -> list[str]:
    clauses, start = [], 0
    for end in _CLAUSE_END.finditer(text):
        clauses.append(text[start : end.start()])
        start = end.end()
    clauses.append(text[start:])
    return clauses


def _owner(clause: str, ids: list[tuple[int, int, str]], start: int, end: int) -> str | None:
    spent_on = _SPENT_ON.match(clause, end)
    if spent_on:
        return spent_on.group(1)
    before = [public_id for _, id_end, public_id in ids if id_end <= start]
    return before[-1] if before else None
