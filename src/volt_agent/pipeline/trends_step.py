"""Week-over-week comparison inside the report activities: find the earlier run through the
storage interface and compare with its saved ``enriched_data.json`` (never a new fetch).
Synchronous; the activities run it in a thread."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from volt_agent.domain.models import EnrichedData
from volt_agent.pipeline.offload import invalid_artifact
from volt_agent.reporting.trends import Trends, compute_trends, no_comparison
from volt_agent.storage.atomic import StorageError
from volt_agent.storage.json_stream import JsonReader
from volt_agent.storage.previous_run import find_previous_run, run_workspace
from volt_agent.storage.run_folder import ENRICHED_DATA, RunFolder
from volt_agent.storage.run_metadata import load_metadata


def compare_with_previous(folder: RunFolder, current: EnrichedData) -> Trends:
    """This run's deltas against the previous period's run, or why there is none."""
    aggregated = current.aggregated
    try:
        meta = load_metadata(folder)
        users = meta.parameters.get("users") if meta is not None else None
        previous, reason = find_previous_run(
            folder.storage,
            folder.run_id,
            start=aggregated.start_date,
            end=aggregated.end_date,
            users=users,
            workspace_id=run_workspace(folder),
        )
        if previous is None:
            return no_comparison(aggregated, reason)
        earlier = load_slim(previous)
    except StorageError as exc:
        return no_comparison(aggregated, f"the earlier run could not be read ({exc})")
    return compute_trends(current, earlier, previous.run_id)


def load_slim(folder: RunFolder) -> EnrichedData:
    """The run's ``enriched_data.json`` with slim people (``digest.slim_user``: each group's
    entries dropped as they are read; totals and entities are all a comparison needs): an
    earlier run's entries are never all in memory."""
    try:
        with folder.open_read(ENRICHED_DATA) as stream:
            reader = JsonReader(stream)
            values = _object(reader, {"aggregated": lambda r: _object(r, {"users": _slim_people})})
            reader.end()
        return EnrichedData.model_validate(values)
    except (ValueError, ValidationError) as exc:
        raise invalid_artifact(folder, ENRICHED_DATA, EnrichedData, exc) from None


def _object(reader: JsonReader, readers: dict[str, Any]) -> dict[str, Any]:
    """An object's members, those named in ``readers`` read by them, the rest decoded."""
    if reader.peek() != "{":
        return reader.value()  # type: ignore[no-any-return]
    values: dict[str, Any] = {}
    reader.begin_object()
    while (key := reader.next_key()) is not None:
        read = readers.get(key)
        values[key] = read(reader) if read is not None else reader.value()
    return values


def _slim_people(reader: JsonReader) -> list[Any]:
    if reader.peek() != "[":
        return reader.value()  # type: ignore[no-any-return]
    people = []
    for person in reader.items():
        if isinstance(person, dict):
            for group in (*person.get("matched", ()), *person.get("unmatched", ())):
                if isinstance(group, dict) and isinstance(group.get("entries"), list):
                    group["entries"] = []
        people.append(person)
    return people
