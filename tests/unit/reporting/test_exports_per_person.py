"""The per-person exports (issue 12): header + each person's ``entries.csv`` lines is the whole
file, chunked streams of people give the same bytes, and ``person_entity.csv`` built from
rounded "slim" people (one entry kept per group) equals the one built from full data."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.unit.reporting.fixtures import END, ENTITIES, START, entry
from volt_agent.domain.aggregation import aggregate, referenced_entities
from volt_agent.domain.models import (
    EnrichedData,
    EnrichedEntity,
    TimeEntry,
    TogglAggregated,
    TogglUser,
    UserAggregate,
)
from volt_agent.domain.rounding import RoundingPolicy, round_aggregate, round_seconds
from volt_agent.reporting import exports
from volt_agent.reporting.exports import (
    ENTRY_COLUMNS,
    entries_csv,
    entries_csv_chunks,
    entries_csv_chunks_of,
    entries_csv_header,
    entries_csv_person,
    fmt_csv_hours,
    person_entity_csv,
    person_entity_csv_of,
    safe_cell,
)
from volt_agent.reporting.insights import index_entities, matched_key
from volt_agent.sandbox import WorkspaceSpec, generate_workspace

NONE = RoundingPolicy()
UP_15 = RoundingPolicy("up", 15)
POLICIES = [pytest.param(NONE, id="none"), pytest.param(UP_15, id="up15")]
BOMS = [pytest.param(False, id="no-bom"), pytest.param(True, id="bom")]


def _reference_entries_csv(data: EnrichedData, policy: RoundingPolicy, bom: bool) -> bytes:
    """``entries.csv`` rendered the plain way (the export's code before it went per person):
    every row built in full, each person's rows sorted by (start, id), every text cell through
    ``safe_cell``, one ``csv.writer`` for the file."""
    index = index_entities(data.entities)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ENTRY_COLUMNS)
    for user in data.aggregated.users:
        refs = []
        for m in user.matched:
            key = matched_key(m)
            found = index.get(key)
            state = ""
            if found is not None:
                status = found.status
                state = (
                    (found.state or "") if status == "found" else f"({status.replace('_', ' ')})"
                )
            refs += [(r, f"#{m.entity_id}", key[0], m.project or "", state) for r in m.entries]
        refs += [(r, "", "", "", "") for a in user.unmatched for r in a.entries]
        refs.sort(key=lambda item: (item[0].start, item[0].id))
        zone = ZoneInfo(user.timezone) if user.timezone else UTC
        for ref, entity, type_key, project, state in refs:
            shown = ref.start.astimezone(zone) if user.timezone else ref.start
            cells: list[str | int] = [
                user.user_name,
                user.email or "",
                ref.start.astimezone(zone).date().isoformat(),
                shown.isoformat(),
                fmt_csv_hours(round_seconds(ref.seconds, policy)),
                ref.seconds,
                ref.description,
                entity,
                type_key,
                project,
                state,
            ]
            writer.writerow([safe_cell(c) if isinstance(c, str) else c for c in cells])
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


PLUS_2 = timezone(timedelta(hours=2))
AWKWARD_USERS = [
    TogglUser(id=1, name='=Eve, the "boss"', email="+eve@example.com", timezone="Asia/Kolkata"),
    TogglUser(id=2, name="Kai Ünïcødé", email="kai@example.com", timezone="America/Los_Angeles"),
    TogglUser(id=3, name="Noz"),  # no zone: start as fetched, date in UTC
]
AWKWARD_ENTRIES = [
    entry(9, 1, "Fix login #123 [Scrum] [Task] [Moneyball]", 1799, 24),
    entry(1, 1, "Fix login #123 [Scrum] [Task] [Moneyball]", 3601),
    entry(7, 1, "=SUM(A1,B1) #9 [Scrum] [Bug] [Moneyball]", 601),  # same start as #1
    entry(3, 1, "@standup", 59, 20),  # the next local day in Kolkata
    entry(4, 1, 'Line1\nLine2 "quoted", ok', 900, 2),
    entry(2, 1, "@standup", 61),  # same start as #1 and #7, unmatched
    entry(5, 2, "Old cleanup #77 [Scrum] [Task] [-Legacy]", 2700, -9),
    entry(6, 2, "Loose ref #88", 600, 1),
    entry(8, 2, "Ghost #4242 [Scrum] [Task] [Core]", 1000, 2),
    entry(10, 2, "\tTabbed", 1234, 3),
    entry(11, 2, "Ghost #4242 [Scrum] [Task] [Core]", 1001, 48),
    entry(12, 3, "Late review", 1500, start=datetime(2026, 11, 18, 1, 30, tzinfo=PLUS_2)),
    entry(13, 3, "-2+3", 450, start=datetime(2026, 11, 17, 9, 0, tzinfo=PLUS_2)),
]


def _awkward() -> EnrichedData:
    aggregated = aggregate(AWKWARD_ENTRIES, AWKWARD_USERS, START, END)
    return EnrichedData(aggregated=aggregated, entities=ENTITIES)


def _sandbox() -> EnrichedData:
    """A small generated workspace: zones across the globe, deleted entities, non-ASCII."""
    workspace = generate_workspace(WorkspaceSpec(users=8, days=5, seed=7))
    users = [
        TogglUser(id=u.id, email=u.email, name=u.fullname, timezone=u.timezone)
        for u in workspace.toggl_users
    ]
    entries = [
        TimeEntry(
            id=e.id,
            user_id=e.user_id,
            user_name="",
            description=e.description,
            start=e.start,
            stop=e.stop,
            seconds=e.seconds,
        )
        for e in workspace.time_entries
    ]
    start = workspace.spec.start_date
    aggregated = aggregate(entries, users, start, start + timedelta(days=4))
    entities = [
        EnrichedEntity(
            type_key=type_key,
            public_id=public_id,
            status="not_found" if n % 7 == 0 else "found",
            name=f"Entity {public_id}",
            state="Done" if n % 2 else "=In, Progress",
        )
        for type_key, ids in referenced_entities(aggregated).items()
        for n, public_id in enumerate(ids)
        if n % 5  # every fifth entity was never enriched
    ]
    return EnrichedData(aggregated=aggregated, entities=entities)


DATASETS = [pytest.param(_awkward, id="awkward"), pytest.param(_sandbox, id="sandbox")]


def _per_person(data: EnrichedData, policy: RoundingPolicy, bom: bool) -> bytes:
    index = index_entities(data.entities)
    people = [entries_csv_person(u, index, policy) for u in data.aggregated.users]
    return entries_csv_header(bom=bom) + b"".join(people)


@pytest.mark.parametrize("bom", BOMS)
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("make", DATASETS)
def test_header_and_people_are_the_whole_file(
    make: Callable[[], EnrichedData], policy: RoundingPolicy, bom: bool
) -> None:
    data = make()
    expected = _reference_entries_csv(data, policy, bom)
    assert _per_person(data, policy, bom) == expected
    assert entries_csv(data, policy, bom=bom) == expected
    index = index_entities(data.entities)
    streamed = entries_csv_chunks_of(iter(data.aggregated.users), index, policy, bom=bom)
    assert b"".join(streamed) == expected


def test_awkward_cells_render_as_before() -> None:
    """Anchors the reference: the lines a spreadsheet app will read, byte for byte."""
    lines = _per_person(_awkward(), UP_15, False).decode().split("\r\n")
    eve = '"\'=Eve, the ""boss""",\'+eve@example.com'
    assert lines[1:4] == [
        f"{eve},2026-11-16,2026-11-16T14:30:00+05:30,1.25,3601,"
        "Fix login #123 [Scrum] [Task] [Moneyball],#123,Scrum/Task,Moneyball,In Progress",
        f"{eve},2026-11-16,2026-11-16T14:30:00+05:30,0.25,61,'@standup,,,,",
        f"{eve},2026-11-16,2026-11-16T14:30:00+05:30,0.25,601,"
        '"\'=SUM(A1,B1) #9 [Scrum] [Bug] [Moneyball]",#9,Scrum/Bug,Moneyball,Done',
    ]
    assert (
        lines[4]
        == f'{eve},2026-11-16,2026-11-16T16:30:00+05:30,0.25,900,"Line1\nLine2 ""quoted"", ok",,,,'
    )
    assert f"{eve},2026-11-17,2026-11-17T10:30:00+05:30,0.25,59,'@standup,,,," in lines
    noz = [line for line in lines if line.startswith("Noz,")]
    assert noz == [
        "Noz,,2026-11-17,2026-11-17T09:00:00+02:00,0.25,450,'-2+3,,,,",
        "Noz,,2026-11-17,2026-11-18T01:30:00+02:00,0.5,1500,Late review,,,,",
    ]
    kai = [line.split(",", 2)[2] for line in lines if line.startswith("Kai")]
    assert kai[0].endswith(
        ",2700,Old cleanup #77 [Scrum] [Task] [-Legacy],#77,Scrum/Task,'-Legacy,(not found)"
    )
    assert kai[1].endswith(",600,Loose ref #88,#88,Unknown/Unknown,,(error)")
    assert kai[2].endswith(",1000,Ghost #4242 [Scrum] [Task] [Core],#4242,Scrum/Task,Core,")
    assert kai[3].endswith(",1234,'\tTabbed,,,,")


def test_a_person_is_sorted_even_when_the_groups_are_not() -> None:
    """Entries stored out of order (a hand-built or older aggregate) still come out by start."""
    data = _awkward()
    eve = data.aggregated.users[0]
    shuffled = eve.model_copy(
        update={
            "matched": [m.model_copy(update={"entries": m.entries[::-1]}) for m in eve.matched],
            "unmatched": [a.model_copy(update={"entries": a.entries[::-1]}) for a in eve.unmatched],
        }
    )
    assert any(len(m.entries) > 1 for m in eve.matched)
    index = index_entities(data.entities)
    assert entries_csv_person(shuffled, index, NONE) == entries_csv_person(eve, index, NONE)
    only_eve = data.model_copy(
        update={"aggregated": data.aggregated.model_copy(update={"users": [shuffled]})}
    )
    expected = _reference_entries_csv(only_eve, NONE, False)
    assert entries_csv_header() + entries_csv_person(shuffled, index, NONE) == expected


def test_a_person_without_entries_adds_no_line() -> None:
    empty = UserAggregate(
        user_id=99,
        user_name="Nobody",
        total_seconds=0,
        matched_seconds=0,
        unmatched_seconds=0,
        entry_count=0,
    )
    assert entries_csv_person(empty, {}, UP_15) == b""


@pytest.mark.parametrize("bom", BOMS)
def test_a_stream_of_people_is_chunked_by_rows_and_read_lazily(
    monkeypatch: pytest.MonkeyPatch, bom: bool
) -> None:
    monkeypatch.setattr(exports, "CHUNK_ROWS", 4)
    data = _awkward()
    pulled: list[int] = []

    def people() -> Iterator[UserAggregate]:
        for user in data.aggregated.users:
            pulled.append(user.user_id)
            yield user

    chunks = entries_csv_chunks_of(people(), index_entities(data.entities), UP_15, bom=bom)
    first = next(chunks)
    assert pulled == [data.aggregated.users[0].user_id]  # Eve has 6 entries: one chunk's worth
    rest = list(chunks)
    assert first + b"".join(rest) == _reference_entries_csv(data, UP_15, bom)
    assert first.startswith("\ufeffperson,".encode()) == bom
    sizes = [len(list(csv.reader(io.StringIO(c.decode("utf-8-sig"), newline="")))) for c in rest]
    assert len(list(csv.reader(io.StringIO(first.decode("utf-8-sig"), newline="")))) == 1 + 4
    assert sizes == [4, 4, 1]  # 13 entries: the chunks cross people's borders
    assert list(entries_csv_chunks(data, UP_15, bom=bom)) == [first, *rest]


def _slim(aggregated: TogglAggregated) -> list[UserAggregate]:
    """Each group keeps only its earliest entry; ``seconds`` and ``entry_count`` unchanged."""
    return [
        u.model_copy(
            update={
                "matched": [m.model_copy(update={"entries": m.entries[:1]}) for m in u.matched],
                "unmatched": [a.model_copy(update={"entries": a.entries[:1]}) for a in u.unmatched],
            }
        )
        for u in aggregated.users
    ]


@pytest.mark.parametrize("bom", BOMS)
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("make", DATASETS)
def test_person_entity_from_rounded_slim_people(
    make: Callable[[], EnrichedData], policy: RoundingPolicy, bom: bool
) -> None:
    data = make()
    index = index_entities(data.entities)
    slim = _slim(round_aggregate(data.aggregated, policy))
    expected = person_entity_csv(data, policy, bom=bom)
    assert person_entity_csv_of(iter(slim), index, bom=bom) == expected
    assert expected.startswith("\ufeff".encode()) == bom
    assert len(expected.split(b"\r\n")) > 3
    if policy.active:  # rounding the slim people would count only the entry each one kept
        slim_raw = _slim(data.aggregated)
        resummed = round_aggregate(data.aggregated.model_copy(update={"users": slim_raw}), policy)
        assert person_entity_csv_of(resummed.users, index, bom=bom) != expected


def test_person_entity_rows_are_people_and_entities_by_rounded_time() -> None:
    data = _awkward()
    slim = _slim(round_aggregate(data.aggregated, UP_15))
    rows = list(
        csv.reader(io.StringIO(person_entity_csv_of(slim, index_entities(ENTITIES)).decode()))
    )
    assert rows[0] == ["person", "email", "entity", "type", "name", "state", "hours", "entries"]
    assert rows[1:] == [
        [
            '\'=Eve, the "boss"',
            "'+eve@example.com",
            "#123",
            "Scrum/Task",
            "Fix login redirect",
            "In Progress",
            "1.75",
            "2",
        ],
        [
            '\'=Eve, the "boss"',
            "'+eve@example.com",
            "#9",
            "Scrum/Bug",
            "Crash on save",
            "Done",
            "0.25",
            "1",
        ],
        ["Kai Ünïcødé", "kai@example.com", "#4242", "Scrum/Task", "Ghost", "", "1", "2"],
        [
            "Kai Ünïcødé",
            "kai@example.com",
            "#77",
            "Scrum/Task",
            "Old cleanup",
            "(not found)",
            "0.75",
            "1",
        ],
        [
            "Kai Ünïcødé",
            "kai@example.com",
            "#88",
            "Unknown/Unknown",
            "Loose ref",
            "(error)",
            "0.25",
            "1",
        ],
    ]
