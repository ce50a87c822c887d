"""Keeping model-written text honest and harmless. Pure functions, no I/O.

* ``text_cap`` shares a character budget among untrusted texts: the longest are cut first.
* ``clean_narrative`` makes model output unable to change a report's structure (no headings,
  HTML, links or images; bounded length).
* ``check_narrative`` compares what the output says with the data: every ``#id`` must be an
  entity of the input, hours stated for an entity or as a person's total must match, and a
  percentage tied to a share the data has (matched, a type's, a person's) must match.
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
_PERCENT = re.compile(r"(?<![\w.,])(\d+(?:[.,]\d+)?)\s*(?:%|percent\b|per\s+cent\b)", re.I)
_TOTAL_LINK = re.compile(
    r"(?:['\u2019]s)?\s*[(:\u2013\u2014-]?\s*(?:(?:has|had|have)\s+)?(?:(?:logged|tracked|recorded|booked"
    r"|worked|spent|clocked|totall?ed|totals?|put\s+in)\s+)?(?:(?:a\s+)?total\s+of\s+|in"
    r"\s+total\s+|about\s+|around\s+|approximately\s+|roughly\s+|nearly\s+)?",
    re.I,
)
_ELSEWHERE = re.compile(r"\s*(?:on|for|to|into|towards|in|at|of)\s+(?!total\b)", re.I)
_UNMATCHED = re.compile(
    r"\b(?:unmatched|unlinked|unreferenced|not\s+linked|without\s+(?:an?\s+)?(?:Fibery\s+)?"
    r"(?:reference|ref|link|entity))",
    re.I,
)
_MATCHED = re.compile(
    r"\b(?:matched|linked|referenced|with\s+(?:an?\s+)?(?:Fibery\s+)?(?:reference|ref|link))",
    re.I,
)
_OF = re.compile(r"^\s*(?:of\s+(?:it\s+|them\s+|that\s+)?)?", re.I)
_ENTRIES = re.compile(r"\bentr(?:y|ies)\b", re.I)
_TEAM = re.compile(r"\bteam", re.I)
_SENTENCE_END = re.compile(r"(?<=[.;!?])\s+|\n")
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
class PersonFigures:
    """The figures of one person a narrative may state: totals, shares and entry counts.

    ``type_seconds`` maps a Fibery type name (``Task``) to the person's matched seconds on it.
    """

    name: str
    total_seconds: int
    matched_seconds: int
    entry_count: int
    matched_entry_count: int
    type_seconds: Mapping[str, int]

    @classmethod
    def of(cls, user: UserAggregate) -> PersonFigures:
        types: dict[str, int] = defaultdict(int)
        for matched in user.matched:
            if matched.entity_type:
                types[matched.entity_type] += matched.seconds
        return cls(
            name=user.user_name,
            total_seconds=user.total_seconds,
            matched_seconds=user.matched_seconds,
            entry_count=user.entry_count,
            matched_entry_count=sum(m.entry_count for m in user.matched),
            type_seconds=dict(types),
        )


@dataclass(frozen=True)
class Facts:
    """What a narrative may say: entity ids and their hours, and each person's figures.

    ``hours`` maps a public id to every hours figure the data holds for it (team total and
    per person); an id of two types (``Scrum/Task #9``, ``Scrum/Bug #9``) has both types'.
    ``people`` are the report's people (one in a person report, everyone in team reports).
    """

    hours: Mapping[str, frozenset[float]]
    people: tuple[PersonFigures, ...] = ()


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
    people = tuple(PersonFigures.of(user) for user in users)
    return Facts({k: frozenset(v) for k, v in figures.items()}, people)


def check_narrative(
    text: str, facts: Facts, tolerance: float = 0.1, percent_tolerance: float = 1.0
) -> list[str]:
    """Problems of ``text`` against ``facts``; empty when it is grounded.

    Every ``#<digits>`` must be an id of ``facts``. An hours figure (``4.5 h``, ``2 hours``)
    belongs to the ``#id`` it is spent "on"/"for" (``3 h on task #12``), else to the last
    ``#id`` before it in its clause (``#123 Fix login (4.5 h)``); clauses end at ``.,;!?``
    before a space or at a line break. It must be within ``tolerance`` of one of that
    entity's figures. Hours and percentages of people are checked by ``_person_problems``.
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
    for sentence in _SENTENCE_END.split(text) if facts.people else []:
        carried: list[PersonFigures] = []
        for clause in _clauses(sentence):
            found, named = _person_problems(
                clause, facts.people, carried, tolerance, percent_tolerance
            )
            wrong += found
            carried = named or carried
    return unknown + wrong


def _person_problems(
    clause: str,
    people: Sequence[PersonFigures],
    carried: Sequence[PersonFigures],
    tolerance: float,
    percent_tolerance: float,
) -> tuple[list[str], list[PersonFigures]]:
    """Hours stated as a person's total and percentages tied to a share of the data.

    A person is named by full name or first name (exact case). ``Anna logged 32.5 h``,
    ``Anna (32.5 h)``, ``Anna's 32.5 h in total`` state her total (``... h matched`` /
    ``... h unmatched``: that part); hours spent "on"/"for" something else are not checked.
    A percentage is checked when its clause has no ``#id`` and names a share: matched or
    unmatched time or entries, a Fibery type's share (type name, exact case), or a named
    person's share of the team (the clause says "team"); it is the share of the people
    named in the clause, else of those named earlier in its sentence (``carried``), else of
    everyone in ``people``. Returns the problems and the people the clause names.
    """
    ids = [(m.start(), m.end(), m.group(1)) for m in _ID.finditer(clause)]
    named = _named(clause, people)
    problems = _total_problems(clause, ids, named, tolerance)
    in_clause = [p for _, _, matches in named for p in matches]
    scope = in_clause or list(carried)
    shares = set() if ids else _shares(clause, scope or list(people), people, bool(scope))
    if not shares:
        return problems, in_clause
    for percent in _PERCENT.finditer(clause):
        stated = float(percent.group(1).replace(",", "."))
        if all(abs(stated - value) > percent_tolerance + 1e-9 for value in shares):
            expected = " or ".join(f"{v:.1f}%" for v in sorted(shares))
            problems.append(f"states {stated:g}%; the data says {expected}")
    return problems, in_clause


def _total_problems(
    clause: str,
    ids: list[tuple[int, int, str]],
    named: list[tuple[str, int, list[PersonFigures]]],
    tolerance: float,
) -> list[str]:
    """The first hours figure right after each name, when it states that person's total."""
    problems: list[str] = []
    for alias, end, matches in named:
        for hours_match in _HOURS.finditer(clause, end):
            if _owner(clause, ids, hours_match.start(), hours_match.end()) is not None:
                break
            link = _TOTAL_LINK.match(clause, end)
            if link is None or link.end() != hours_match.start() or not link.group().strip():
                break
            after = clause[hours_match.end() :]
            part = _OF.sub("", after, count=1)
            if _UNMATCHED.match(part):
                allowed = {p.total_seconds - p.matched_seconds for p in matches}
            elif _MATCHED.match(part):
                allowed = {p.matched_seconds for p in matches}
            elif _ELSEWHERE.match(after):
                break
            else:
                allowed = {p.total_seconds for p in matches}
            stated = float(hours_match.group(1).replace(",", "."))
            values = sorted(round(seconds / 3600, 2) for seconds in allowed)
            if all(abs(stated - value) > tolerance + 1e-9 for value in values):
                expected = " or ".join(f"{v:.2f}" for v in values)
                problems.append(f"states {stated:g} h for {alias}; the data says {expected} h")
            break
    return problems


def _named(
    clause: str, people: Sequence[PersonFigures]
) -> list[tuple[str, int, list[PersonFigures]]]:
    """Each name of a person in ``clause``: the name, where it ends and everyone it names."""
    aliases: dict[str, list[PersonFigures]] = defaultdict(list)
    for person in people:
        full = person.name.strip()
        for alias in {full, full.split()[0]} if full else set():
            aliases[alias].append(person)
    found = []
    for alias, matches in aliases.items():
        for match in re.finditer(rf"(?<!\w){re.escape(alias)}(?!\w)", clause):
            found.append((alias, match.end(), matches))
    return found


def _shares(
    clause: str,
    scope: Sequence[PersonFigures],
    people: Sequence[PersonFigures],
    named: bool,
) -> set[float]:
    """The percentages ``clause`` may mean: the shares of ``scope`` its words name."""
    total = sum(p.total_seconds for p in scope)
    matched = sum(p.matched_seconds for p in scope)
    entries = sum(p.entry_count for p in scope)
    matched_entries = sum(p.matched_entry_count for p in scope)
    shares: set[float] = set()

    def add(part: int, whole: int) -> None:
        if whole > 0:
            shares.add(round(100 * part / whole, 2))

    entry_words = _ENTRIES.search(clause) is not None
    if _UNMATCHED.search(clause):
        add(total - matched, total)
        if entry_words:
            add(entries - matched_entries, entries)
    if _MATCHED.search(_UNMATCHED.sub("", clause)):
        add(matched, total)
        if entry_words:
            add(matched_entries, entries)
    types = {name for p in people for name in p.type_seconds}
    for name in types:
        if re.search(rf"(?<!\w){re.escape(name)}(?:s|es)?(?!\w)", clause):
            seconds = sum(p.type_seconds.get(name, 0) for p in scope)
            add(seconds, total)
            add(seconds, matched)
    if not shares and named and len(people) > 1 and _TEAM.search(clause):
        add(total, sum(p.total_seconds for p in people))
    return shares


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
