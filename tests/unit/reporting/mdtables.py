"""Read markdown reports back: sections by heading, tables as rows of cells."""

from __future__ import annotations

import re

_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def section(text: str, heading: str) -> str:
    """The lines under ``heading`` up to the next heading of the same or a higher level."""
    lines = text.splitlines()
    level = len(heading) - len(heading.lstrip("#"))
    start = lines.index(heading) + 1
    end = len(lines)
    for i in range(start, len(lines)):
        marks = len(lines[i]) - len(lines[i].lstrip("#"))
        if 0 < marks <= level and lines[i][marks : marks + 1] == " ":
            end = i
            break
    return "\n".join(lines[start:end])


def cells(line: str) -> list[str]:
    assert line.startswith("| "), line
    assert line.endswith(" |"), line
    return [c.strip() for c in _CELL_SPLIT.split(line)[1:-1]]


def tables(text: str) -> list[list[dict[str, str]]]:
    """Every table in ``text`` as rows keyed by header; checks each row has the header's width."""
    found: list[list[dict[str, str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            header = cells(lines[i])
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                row = cells(lines[i])
                assert len(row) == len(header), f"row width {len(row)} != {len(header)}: {lines[i]}"
                rows.append(dict(zip(header, row, strict=True)))
                i += 1
            found.append(rows)
        else:
            i += 1
    return found


def table(text: str, heading: str) -> list[dict[str, str]]:
    """The only table in the section under ``heading``."""
    found = tables(section(text, heading))
    assert len(found) == 1, f"{len(found)} tables under {heading!r}"
    return found[0]


def headings(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"#{1,6} ", line)]
