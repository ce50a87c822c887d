"""Markdown formatting for reports: safe inlining of untrusted text, hours and percentages.

Every piece of text that comes from Toggl or Fibery (descriptions, names, comments, field
values, even type keys and ids parsed from descriptions) is untrusted and goes through
``inline`` before it lands in a table cell, list item or heading.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import date, datetime
from typing import Any

from volt_agent.domain.models import hours

DEFAULT_LIMIT = 200
ELLIPSIS = "…"

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        "|": "\\|",
        "`": "\\`",
        "[": "\\[",
        "]": "\\]",
        "<": "&lt;",
        ">": "&gt;",
    }
)
_ESCAPED = re.compile("[" + re.escape("".join(map(chr, _ESCAPES))) + "]")
"""Any character of ``_ESCAPES``: most text has none, and a search is cheaper than a
``translate`` through a table."""


def inline(text: object, limit: int = DEFAULT_LIMIT) -> str:
    """Untrusted text as one markdown line fragment that cannot change the document's structure.

    Whitespace runs (newlines included) become one space, control and bidi characters are
    dropped, text longer than ``limit`` characters (``0`` = no cap) is cut to ``limit``
    characters ending in "…". Then backslash, ``|``, backticks and brackets are
    backslash-escaped, ``<``/``>`` become ``&lt;``/``&gt;`` and a leading ``#`` is escaped,
    so the result can neither end a table cell nor open a heading, code span, link or
    HTML tag. ``None`` is the empty string.
    """
    if text is None:
        return ""
    return _inline(text if isinstance(text, str) else str(text), limit)


@functools.lru_cache(maxsize=2048)
def _inline(text: str, limit: int) -> str:
    """``inline`` of a string, remembered: an entity's name, description and comments come
    back in the report of every person who tracked time on it."""
    flat = _flatten(text)
    if limit > 0 and len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + ELLIPSIS
    escaped = flat.translate(_ESCAPES) if _ESCAPED.search(flat) else flat
    return "\\" + escaped if escaped.startswith("#") else escaped


def _plain(text: str) -> bool:
    """Whether ``text`` holds no character ``_WHITESPACE`` or ``_CONTROL`` would change: no
    run of spaces, and printable (``str.isprintable`` is false for every character either
    pattern matches but the ASCII space: ``Cc``, ``Cf`` and the ``Z*`` separators). Most
    text is, and a report formats each entry's texts several times: the check is cheaper."""
    return text.isprintable() and "  " not in text


def _flatten(text: str) -> str:
    """Whitespace runs as one space, control and bidi characters dropped, trimmed."""
    if _plain(text):
        return text.strip()
    return _CONTROL.sub("", _WHITESPACE.sub(" ", text)).strip()


def truncate(text: str, limit: int) -> str:
    """Plain text cut to ``limit`` characters ending in "…"; whitespace runs become one space."""
    flat = text.strip() if _plain(text) else _WHITESPACE.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + ELLIPSIS


def fmt_hours(seconds: int) -> str:
    """Seconds as hours with exactly two decimals, rounded as in the JSON artifacts."""
    return f"{hours(seconds):.2f}"


def fmt_pct(part: int, whole: int) -> str:
    """``part`` as a percentage of ``whole`` with one decimal; ``0.0%`` when ``whole`` is 0."""
    return f"{part / whole * 100:.1f}%" if whole else "0.0%"


def fmt_date(value: date | datetime | None) -> str:
    """ISO date (a datetime is shown by its own calendar date); ``—`` when unknown."""
    if value is None:
        return "—"
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def fmt_day(value: date) -> str:
    """``2026-11-16 (Mon)``; weekday names are fixed English, independent of the locale."""
    return f"{value.isoformat()} ({_WEEKDAYS[value.weekday()]})"


def fmt_count(n: int, singular: str, plural: str) -> str:
    """``1 entry``, ``2 entries``."""
    return f"{n} {singular if n == 1 else plural}"


def fmt_value(value: Any) -> str:
    """A Fibery field value as plain text: lists joined, mappings as sorted JSON, dates ISO."""
    if value is None or value in ("", []):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return str(value)
