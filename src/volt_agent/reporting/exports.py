"""CSV exports for finance and spreadsheets: ``reports/entries.csv`` and
``reports/person_entity.csv``.

Pure: run data in, bytes out (UTF-8, with a BOM on request for spreadsheet apps; RFC 4180
quoting by the ``csv`` module, CRLF line ends). Text cells starting with ``=``, ``+``,
``-`` or ``@`` (or a tab / carriage return) get a leading single quote, so a spreadsheet app
shows them instead of running them as formulas (OWASP "CSV injection"). Hours follow the
report's rounding policy; ``entries.csv`` also keeps each entry's raw seconds.

Both files can be built one person at a time, so no caller needs every person's entries at
once: ``entries_csv_header`` + ``entries_csv_person`` of each full (unrounded) person in
report order is the whole ``entries.csv`` (``entries_csv_chunks_of`` does that over a stream
of people, a few hundred rows per chunk); ``person_entity_csv_of`` needs only the rounded
groups' ``seconds`` and ``entry_count``, not their entries. ``entries_csv``,
``entries_csv_chunks`` and ``person_entity_csv`` are the same over a whole ``EnrichedData``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

from volt_agent.domain.local_time import zone
from volt_agent.domain.models import EnrichedData, EntryRef, UserAggregate
from volt_agent.domain.rounding import RoundingPolicy, round_aggregate, round_seconds
from volt_agent.reporting.insights import EntityIndex, index_entities, matched_key

ENTRIES_CSV = "reports/entries.csv"
PERSON_ENTITY_CSV = "reports/person_entity.csv"
ENTRY_COLUMNS = (
    "person",
    "email",
    "date",
    "start",
    "hours",
    "seconds",
    "description",
    "entity",
    "type",
    "project",
    "state",
)
PERSON_ENTITY_COLUMNS = ("person", "email", "entity", "type", "name", "state", "hours", "entries")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int


def safe_cell(value: str) -> str:
    """``value`` made inert for spreadsheet apps: a formula-like start gets a leading ``'``."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def fmt_csv_hours(seconds: int) -> str:
    """Decimal hours without trailing zeros (``0.25``, ``1``, ``0.016667``)."""
    text = f"{seconds / 3600:.6f}".rstrip("0").rstrip(".")
    return text or "0"


CHUNK_ROWS = 500
"""Rows per chunk of ``entries_csv_chunks_of`` (the header rides with the first chunk)."""

_BOM = "\ufeff".encode()
Row = Sequence[Cell]


def _text(rows: Iterable[Row]) -> str:
    out = io.StringIO(newline="")
    csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _csv(header: Sequence[str], rows: Iterable[Row], bom: bool) -> bytes:
    safe = ([safe_cell(c) if isinstance(c, str) else c for c in row] for row in rows)
    return (_BOM if bom else b"") + _text([header]).encode() + _text(safe).encode()


def _state(index: EntityIndex, key: tuple[str, str]) -> str:
    entity = index.get(key)
    if entity is None:
        return ""
    if entity.status != "found":
        return f"({entity.status.replace('_', ' ')})"
    return entity.state or ""


class _EntryLines:
    """Renders people's ``entries.csv`` lines (``str``, CRLF-ended).

    A line is the person's cells, the entry's own cells and the group's cells, each part
    quoted by the ``csv`` module once: per person, per group and per distinct description,
    never per entry (the ``csv`` module quotes each field on its own, so the parts joined are
    the whole row's bytes). The entry's date, start, hours and seconds never need quoting.
    Hours of each raw duration are kept across people (a policy maps them to few values).
    """

    def __init__(self, index: EntityIndex, policy: RoundingPolicy) -> None:
        self._index = index
        self._policy = policy
        self._hours: dict[int, str] = {}
        self._out = io.StringIO(newline="")
        self._writer = csv.writer(self._out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")

    def _row(self, cells: Sequence[str]) -> str:
        """``cells`` as one CSV line with its CRLF, every cell made inert first."""
        self._out.seek(0)
        self._out.truncate()
        self._writer.writerow([safe_cell(c) for c in cells])
        return self._out.getvalue()

    def _cell(self, text: str) -> str:
        """One inert, quoted cell; only a delimiter, quote or line break makes the ``csv``
        module quote a field (QUOTE_MINIMAL), and most descriptions have none."""
        if "," in text or '"' in text or "\n" in text or "\r" in text:
            return self._row((text, ""))[:-3]  # drop the empty cell's "," and the CRLF
        return safe_cell(text)

    def _hours_of(self, seconds: int) -> str:
        text = self._hours[seconds] = fmt_csv_hours(round_seconds(seconds, self._policy))
        return text

    def of(self, user: UserAggregate) -> list[str]:
        """``user``'s lines by entry start, then entry id (stable: equal keys keep the
        order of the matched groups, then the unmatched ones)."""
        head = self._row((user.user_name, user.email or "", ""))[:-2]  # "person,email,"
        tz = zone(user.timezone) if user.timezone else None
        hours, hours_of = self._hours, self._hours_of
        descriptions: dict[str, str] = {}
        keyed: list[tuple[datetime, int, int, str]] = []
        groups: list[tuple[Sequence[EntryRef], str]] = []
        for m in user.matched:
            key = matched_key(m)
            cells = ("", f"#{m.entity_id}", key[0], m.project or "", _state(self._index, key))
            groups.append((m.entries, self._row(cells)))  # ",entity,type,project,state\r\n"
        unmatched = self._row(("", "", "", "", ""))
        groups += [(a.entries, unmatched) for a in user.unmatched]
        for refs, tail in groups:
            for ref in refs:
                start = ref.start
                if tz is None:
                    iso = start.isoformat()
                    day = start.astimezone(UTC).date().isoformat()
                else:
                    iso = start.astimezone(tz).isoformat()
                    day = iso[:10]
                seconds = ref.seconds
                hour = hours.get(seconds) or hours_of(seconds)
                text = ref.description
                description = descriptions.get(text)
                if description is None:
                    description = descriptions[text] = self._cell(text)
                line = f"{head}{day},{iso},{hour},{seconds},{description}{tail}"
                keyed.append((start, ref.id, len(keyed), line))
        keyed.sort()
        return [item[3] for item in keyed]


def entries_csv_header(*, bom: bool = False) -> bytes:
    """The first line of ``entries.csv`` (after a UTF-8 BOM when ``bom``)."""
    return (_BOM if bom else b"") + _text([ENTRY_COLUMNS]).encode()


def entries_csv_person(user: UserAggregate, entities: EntityIndex, policy: RoundingPolicy) -> bytes:
    """The ``entries.csv`` lines of one person, by entry start (ties by entry id).

    ``user`` is full and unrounded (every entry, raw seconds): ``hours`` is each entry
    rounded by ``policy``, ``seconds`` its raw duration. ``date`` and ``start`` are in the
    person's zone (``start`` as fetched and ``date`` in UTC when the person has none).
    ``state`` is Fibery's state, ``(not found)`` / ``(error)`` when Fibery had no answer,
    empty without a Fibery reference or when ``entities`` lacks the entity.
    """
    return "".join(_EntryLines(entities, policy).of(user)).encode()


def entries_csv_chunks_of(
    users: Iterable[UserAggregate],
    entities: EntityIndex,
    policy: RoundingPolicy,
    *,
    bom: bool = False,
) -> Iterator[bytes]:
    """``entries.csv`` of ``users`` (full, unrounded, in report order) ``CHUNK_ROWS`` rows
    at a time: the header (and BOM) with the first chunk, then ``entries_csv_person`` of each
    person; the last chunk may be empty. Only one person's rows are held at a time."""
    render = _EntryLines(entities, policy)
    head, pending = entries_csv_header(bom=bom), list[str]()
    for user in users:
        lines = render.of(user)
        while lines:
            take = CHUNK_ROWS - len(pending)
            pending += lines[:take]
            lines = lines[take:]
            if len(pending) == CHUNK_ROWS:
                yield head + "".join(pending).encode()
                head, pending = b"", []
    yield head + "".join(pending).encode()


def entries_csv(data: EnrichedData, policy: RoundingPolicy, *, bom: bool = False) -> bytes:
    """``entries_csv_chunks`` joined."""
    return b"".join(entries_csv_chunks(data, policy, bom=bom))


def entries_csv_chunks(
    data: EnrichedData, policy: RoundingPolicy, *, bom: bool = False
) -> Iterator[bytes]:
    """``entries_csv_chunks_of`` the run's people (``data`` holds raw, unrounded seconds)."""
    return entries_csv_chunks_of(
        data.aggregated.users, index_entities(data.entities), policy, bom=bom
    )


def person_entity_csv_of(
    rounded_users: Iterable[UserAggregate], entities: EntityIndex, *, bom: bool = False
) -> bytes:
    """``person_entity_csv_chunks_of`` joined."""
    return b"".join(person_entity_csv_chunks_of(rounded_users, entities, bom=bom))


def person_entity_csv_chunks_of(
    rounded_users: Iterable[UserAggregate], entities: EntityIndex, *, bom: bool = False
) -> Iterator[bytes]:
    """One row per person and Fibery entity they tracked time on, people in the given order,
    each person's entities by most rounded time first (ties keep the aggregate's order); the
    header, then one chunk per person.

    ``rounded_users`` are already rounded (``round_aggregate``): ``hours`` is a group's
    ``seconds`` and ``entries`` its ``entry_count``; its entries are not read, so "slim"
    users that keep one entry per group give the same file.
    """
    yield (_BOM if bom else b"") + _text([PERSON_ENTITY_COLUMNS]).encode()
    for user in rounded_users:
        rows: list[list[Cell]] = []
        for m in sorted(user.matched, key=lambda m: -m.seconds):
            key = matched_key(m)
            entity = entities.get(key)
            name = entity.name if entity is not None and entity.name else m.name
            rows.append(
                [
                    user.user_name,
                    user.email or "",
                    f"#{m.entity_id}",
                    key[0],
                    name,
                    _state(entities, key),
                    fmt_csv_hours(m.seconds),
                    m.entry_count,
                ]
            )
        safe = ([safe_cell(c) if isinstance(c, str) else c for c in row] for row in rows)
        yield _text(safe).encode()


def person_entity_csv(data: EnrichedData, policy: RoundingPolicy, *, bom: bool = False) -> bytes:
    """``person_entity_csv_of`` the run's people rounded by ``policy`` (``data`` is raw);
    ``hours`` is the sum of the person's rounded entries on the entity."""
    rounded = round_aggregate(data.aggregated, policy)
    return person_entity_csv_of(rounded.users, index_entities(data.entities), bom=bom)
