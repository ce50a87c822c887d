"""CSV exports built from hand-made runs: quoting, non-ASCII, formula cells, BOM, rounding."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from tests.unit.reporting.fixtures import END, ENTITIES, ENTRIES, START, entry
from volt_agent.domain.aggregation import aggregate
from volt_agent.domain.models import EnrichedData, TimeEntry, TogglUser
from volt_agent.domain.rounding import RoundingPolicy
from volt_agent.reporting.exports import (
    ENTRY_COLUMNS,
    PERSON_ENTITY_COLUMNS,
    entries_csv,
    fmt_csv_hours,
    person_entity_csv,
    safe_cell,
)

NONE = RoundingPolicy()
UP_15 = RoundingPolicy("up", 15)
BOM = "\ufeff".encode()


def _rows(data: bytes) -> list[dict[str, str]]:
    text = data.decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _data(entries: list[TimeEntry], users: list[TogglUser]) -> EnrichedData:
    return EnrichedData(aggregated=aggregate(entries, users, START, END), entities=ENTITIES)


def test_header_rows_are_the_documented_ones() -> None:
    data = _data(ENTRIES[:1], [TogglUser(id=10, name="A")])
    assert entries_csv(data, NONE).split(b"\r\n")[0] == (
        b"person,email,date,start,hours,seconds,description,entity,type,project,state"
    )
    assert person_entity_csv(data, NONE).split(b"\r\n")[0] == (
        b"person,email,entity,type,name,state,hours,entries"
    )
    assert ",".join(ENTRY_COLUMNS).encode() in entries_csv(data, NONE)
    assert ",".join(PERSON_ENTITY_COLUMNS).encode() in person_entity_csv(data, NONE)


def test_awkward_text_survives_a_round_trip() -> None:
    user = TogglUser(id=1, name='Zoë "Z" Ångström, Jr.', email="zoe@example.com")
    description = 'Fix #123 [Scrum] [Task] [Money, "ball"] line1\nline2 — ünïcode'
    data = _data([entry(1, 1, description, 1800)], [user])
    rows = _rows(entries_csv(data, NONE))
    assert len(rows) == 1
    row = rows[0]
    assert row["person"] == 'Zoë "Z" Ångström, Jr.'
    assert row["description"] == description
    assert row["entity"] == "#123"
    assert row["type"] == "Scrum/Task"
    assert row["project"] == 'Money, "ball"'
    assert row["state"] == "In Progress"
    assert row["hours"] == "0.5"
    assert row["seconds"] == "1800"
    assert row["date"] == "2026-11-16"
    assert row["start"] == "2026-11-16T09:00:00+00:00"


def test_formula_like_cells_are_made_inert() -> None:
    users = [TogglUser(id=1, name="=cmd|' /C calc'!A0", email="@evil")]
    entries = [entry(1, 1, '=HYPERLINK("http://x")', 60), entry(2, 1, "-2+3", 60, 1)]
    rows = _rows(entries_csv(_data(entries, users), NONE))
    assert rows[0]["person"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["email"] == "'@evil"
    assert rows[0]["description"] == '\'=HYPERLINK("http://x")'
    assert rows[1]["description"] == "'-2+3"
    assert safe_cell("+1") == "'+1"
    assert safe_cell("plain - text") == "plain - text"


def test_bom_on_and_off() -> None:
    data = _data(ENTRIES[:2], [TogglUser(id=10, name="Anna")])
    assert not entries_csv(data, NONE).startswith(BOM)
    with_bom = entries_csv(data, NONE, bom=True)
    assert with_bom.startswith(BOM)
    assert with_bom[len(BOM) :] == entries_csv(data, NONE)
    assert person_entity_csv(data, NONE, bom=True).startswith(BOM)


def test_entries_in_owner_zone_with_offset_and_local_date() -> None:
    late = TimeEntry(
        id=1,
        user_id=1,
        description="Late call",
        start=datetime(2026, 11, 16, 23, 30, tzinfo=UTC),
        stop=datetime(2026, 11, 16, 23, 45, tzinfo=UTC),
        seconds=900,
    )
    user = TogglUser(id=1, name="Kai", timezone="Europe/Berlin")
    rows = _rows(entries_csv(_data([late], [user]), NONE))
    assert rows[0]["date"] == "2026-11-17"
    assert rows[0]["start"] == "2026-11-17T00:30:00+01:00"
    assert rows[0]["entity"] == rows[0]["type"] == rows[0]["state"] == ""


def test_hours_follow_rounding_and_sums_match() -> None:
    users = [TogglUser(id=10, name="Anna"), TogglUser(id=20, name="Boris")]
    data = _data(ENTRIES[:11], users)
    entries = _rows(entries_csv(data, UP_15))
    assert len(entries) == 11
    assert sum(int(r["seconds"]) for r in entries) == sum(e.seconds for e in ENTRIES[:11])
    loose = next(r for r in entries if r["entity"] == "#88")
    assert (loose["seconds"], loose["hours"], loose["state"]) == ("600", "0.25", "(error)")
    rounded_total = sum(-(-e.seconds // 900) * 900 for e in ENTRIES[:11])
    assert abs(sum(float(r["hours"]) for r in entries) * 3600 - rounded_total) < 1e-6
    pairs = _rows(person_entity_csv(data, UP_15))
    matched = [e for e in ENTRIES[:11] if "#" in e.description]
    assert sum(int(r["entries"]) for r in pairs) == len(matched)
    assert (
        abs(
            sum(float(r["hours"]) for r in pairs) * 3600
            - sum(-(-e.seconds // 900) * 900 for e in matched)
        )
        < 1e-6
    )
    missing = next(r for r in pairs if r["entity"] == "#77")
    assert missing["state"] == "(not found)"
    fix = next(r for r in pairs if r["entity"] == "#123" and r["person"] == "Anna")
    assert (fix["name"], fix["hours"], fix["entries"]) == ("Fix login redirect", "1.5", "2")


def test_fmt_csv_hours() -> None:
    assert fmt_csv_hours(0) == "0"
    assert fmt_csv_hours(3600) == "1"
    assert fmt_csv_hours(900) == "0.25"
    assert fmt_csv_hours(60) == "0.016667"
    assert fmt_csv_hours(int(timedelta(hours=10, minutes=30).total_seconds())) == "10.5"
