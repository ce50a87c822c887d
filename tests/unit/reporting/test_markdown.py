import sys
from datetime import UTC, date, datetime

import pytest

from volt_agent.reporting.markdown import (
    _CONTROL,
    _WHITESPACE,
    ELLIPSIS,
    fmt_count,
    fmt_date,
    fmt_day,
    fmt_hours,
    fmt_pct,
    fmt_value,
    inline,
    truncate,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain text", "plain text"),
        ("a | b", "a \\| b"),
        ("line one\nline two\r\n\tthree", "line one line two three"),
        ("# heading", "\\# heading"),
        ("  ## indented", "\\## indented"),
        ("issue #12", "issue #12"),
        ("`code`", "\\`code\\`"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("![x](http://evil/p.png)", "!\\[x\\](http://evil/p.png)"),
        ("back\\slash |", "back\\\\slash \\|"),
        ("zero\u200bwidth\u202eflip", "zerowidthflip"),
        ("para\u2028sep", "para sep"),
        (None, ""),
        (42, "42"),
    ],
)
def test_inline_escapes(raw: object, expected: str) -> None:
    assert inline(raw) == expected


def test_inline_caps_long_text() -> None:
    text = "word " * 100
    out = inline(text, 50)
    assert len(out) == 50
    assert out.endswith(ELLIPSIS)
    assert inline(text, 0) == text.strip()


def test_inline_cap_counts_characters_before_escaping() -> None:
    out = inline("|" * 10, 5)
    assert out == "\\|" * 4 + ELLIPSIS


def test_inline_fast_path_skips_only_what_the_patterns_leave_unchanged() -> None:
    """``_plain`` text skips the two substitutions: no printable character but the ASCII
    space is one they act on, over every code point."""
    acted_on = [
        c
        for c in map(chr, range(sys.maxunicode + 1))
        if c.isprintable() and c != " " and (_WHITESPACE.match(c) or _CONTROL.match(c))
    ]
    assert acted_on == []
    assert inline("a  b\u00a0c ") == "a b c"
    assert truncate(" one  two\tthree ", 100) == "one two three"
    assert truncate("Schöne Grüße", 100) == "Schöne Grüße"


def test_numbers_and_dates() -> None:
    assert fmt_hours(5400) == "1.50"
    assert fmt_hours(0) == "0.00"
    assert fmt_hours(37) == "0.01"
    assert fmt_pct(1, 3) == "33.3%"
    assert fmt_pct(5, 0) == "0.0%"
    assert fmt_date(None) == "—"
    assert fmt_date(datetime(2026, 11, 16, 23, 0, tzinfo=UTC)) == "2026-11-16"
    assert fmt_day(date(2026, 11, 22)) == "2026-11-22 (Sun)"
    assert fmt_count(1, "entry", "entries") == "1 entry"
    assert fmt_count(0, "entry", "entries") == "0 entries"


def test_field_values() -> None:
    assert fmt_value(None) == "—"
    assert fmt_value([]) == "—"
    assert fmt_value(True) == "yes"
    assert fmt_value(["a", 2]) == "a, 2"
    assert fmt_value({"b": 1, "a": None}) == '{"a": null, "b": 1}'
    assert fmt_value(date(2026, 1, 2)) == "2026-01-02"
