"""CSV exports for finance and spreadsheets: ``reports/entries.csv`` and
``reports/person_entity.csv``.

Pure: run data in, bytes out (UTF-8, with a BOM on request for spreadsheet apps; RFC 4180
quoting by the ``csv`` module, CRLF line ends). Text cells starting with ``=``, ``+``,
``-`` or ``@`` (or a tab / carriage return) get a leading single quote, so a spreadsheet app
shows them instead of running them as formulas (OWASP "CSV injection"). Hours follow the
report's rounding policy; ``entries.csv`` also keeps each entry's raw seconds.
``entries_csv_chunks`` gives that file's bytes a few hundred rows at a time, so a run's 100k
entries are never one string in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from volt_agent.domain.local_time import in_zone, local_date
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


def _csv(header: Sequence[str], rows: Iterable[Sequence[Cell]], bom: bool) -> bytes:
    return b"".join(_csv_chunks(header, rows, bom))


def _csv_chunks(
    header: Sequence[str], rows: Iterable[Sequence[Cell]], bom: bool
) -> Iterator[bytes]:
    """The CSV's bytes, ``CHUNK_ROWS`` rows at a time (the BOM, if any, first)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(header)
    prefix = "\ufeff" if bom else ""
    for count, row in enumerate(rows, start=1):
        writer.writerow([safe_cell(c) if isinstance(c, str) else c for c in row])
        if count % CHUNK_ROWS == 0:
            yield (prefix + out.getvalue()).encode("utf-8")
            prefix = ""
            out.seek(0)
            out.truncate()
    yield (prefix + out.getvalue()).encode("utf-8")


def _state(index: EntityIndex, key: tuple[str, str]) -> str:
    entity = index.get(key)
    if entity is None:
        return ""
    if entity.status != "found":
        return f"({entity.status.replace('_', ' ')})"
    return entity.state or ""


def _entry_rows(
    user: UserAggregate, index: EntityIndex, policy: RoundingPolicy
) -> list[tuple[EntryRef, list[Cell]]]:
    rows: list[tuple[EntryRef, list[Cell]]] = []
    person, email = user.user_name, user.email or ""
    groups: list[tuple[EntryRef, str, str, str, str]] = []
    for m in user.matched:
        key = matched_key(m)
        state = _state(index, key)
        groups += [(r, f"#{m.entity_id}", key[0], m.project or "", state) for r in m.entries]
    for a in user.unmatched:
        groups += [(r, "", "", "", "") for r in a.entries]
    for ref, entity, type_key, project, state in groups:
        start = in_zone(ref.start, user.timezone) if user.timezone else ref.start
        rows.append(
            (
                ref,
                [
                    person,
                    email,
                    local_date(ref.start, user.timezone).isoformat(),
                    start.isoformat(),
                    fmt_csv_hours(round_seconds(ref.seconds, policy)),
                    ref.seconds,
                    ref.description,
                    entity,
                    type_key,
                    project,
                    state,
                ],
            )
        )
    rows.sort(key=lambda item: (item[0].start, item[0].id))
    return rows


def entries_csv(data: EnrichedData, policy: RoundingPolicy, *, bom: bool = False) -> bytes:
    """``entries_csv_chunks`` joined."""
    return b"".join(entries_csv_chunks(data, policy, bom=bom))


def entries_csv_chunks(
    data: EnrichedData, policy: RoundingPolicy, *, bom: bool = False
) -> Iterator[bytes]:
    """One row per time entry, people in report order, each person's entries by start.

    ``data`` holds raw (unrounded) seconds; ``hours`` is the entry rounded by ``policy``,
    ``seconds`` the raw duration. ``state`` is Fibery's state, ``(not found)`` /
    ``(error)`` when Fibery had no answer, empty without a Fibery reference.
    """
    index = index_entities(data.entities)
    rows = (row for user in data.aggregated.users for _, row in _entry_rows(user, index, policy))
    return _csv_chunks(ENTRY_COLUMNS, rows, bom)


def person_entity_csv(data: EnrichedData, policy: RoundingPolicy, *, bom: bool = False) -> bytes:
    """One row per person and Fibery entity they tracked time on, in report order; ``hours``
    is the sum of the person's rounded entries on the entity."""
    index = index_entities(data.entities)
    rounded = round_aggregate(data.aggregated, policy)
    rows: list[list[Cell]] = []
    for user in rounded.users:
        for m in sorted(user.matched, key=lambda m: -m.seconds):
            key = matched_key(m)
            entity = index.get(key)
            name = entity.name if entity is not None and entity.name else m.name
            rows.append(
                [
                    user.user_name,
                    user.email or "",
                    f"#{m.entity_id}",
                    key[0],
                    name,
                    _state(index, key),
                    fmt_csv_hours(m.seconds),
                    m.entry_count,
                ]
            )
    return _csv(PERSON_ENTITY_COLUMNS, rows, bom)
