"""The run's people as the report stages use them: one person's entries at a time (issue 12).

``toggl_aggregated.json`` holds every entry of the run (92k on the org benchmark). Kept as
models by the run cache, it was the worker's largest object graph (about 0.7 KB per entry):
it made the peak grow with every entry, and its free at the end of a stage held the event
loop for 140 ms. ``PersonSlices`` keeps instead

- ``head``: the aggregate with *slim* people (``reporting.digest.slim_user``: groups
  without their entries), enough for the Fibery stage's plan, the person groups, the
  trends and every team-wide table (with a ``reporting.digest.TeamDigest`` of the full
  people for what needs entries: days, findings, entity names);
- ``blobs``: each person's full model, pickled and compressed (zlib level 1: a few percent
  of the models' size). Pickle, not JSON: the blobs never leave the process and are made
  from models it validated, and loading one is four times cheaper than validating JSON
  (the person reports and the team report each load every person once),

and a report stage builds one person's models at a time with ``person``/``people``.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from volt_agent.domain.models import TogglAggregated, UserAggregate
from volt_agent.pipeline.offload import invalid_artifact
from volt_agent.reporting.digest import slim_user
from volt_agent.storage.json_stream import JsonReader
from volt_agent.storage.run_folder import TOGGL_AGGREGATED, RunFolder

COMPRESSION_LEVEL = 1
"""zlib's fastest level: a pickled person still shrinks about fivefold."""


@dataclass(frozen=True)
class PersonSlices:
    head: TogglAggregated
    """The aggregate with slim people, in its order."""
    blobs: dict[int, bytes]
    """Each person's compressed JSON, by Toggl user id."""

    def person(self, user_id: int) -> UserAggregate:
        """The person with every entry (a new model graph on each call)."""
        blob = zlib.decompress(self.blobs[user_id])
        person: UserAggregate = pickle.loads(blob)  # noqa: S301 - made by ``add``, in-process
        return person

    def people(self) -> Iterator[UserAggregate]:
        """Every person with their entries, in the aggregate's order, one at a time."""
        for user in self.head.users:
            yield self.person(user.user_id)


class SlicesBuilder:
    """Collects people in the aggregate's order."""

    def __init__(self) -> None:
        self._slim: list[UserAggregate] = []
        self._blobs: dict[int, bytes] = {}

    def add(self, user: UserAggregate, slim: UserAggregate | None = None) -> None:
        """``slim`` is ``slim_user(user)`` when the caller made it already."""
        blob = pickle.dumps(user, protocol=pickle.HIGHEST_PROTOCOL)
        self._blobs[user.user_id] = zlib.compress(blob, COMPRESSION_LEVEL)
        self._slim.append(slim if slim is not None else slim_user(user))

    def finish(self, head: TogglAggregated) -> PersonSlices:
        """``head``: the aggregate's other members (its ``users`` are replaced)."""
        return PersonSlices(head.model_copy(update={"users": self._slim}), self._blobs)


def slices_from_file(folder: RunFolder) -> PersonSlices:
    """``PersonSlices`` of the run's ``toggl_aggregated.json``, read person by person: for
    a worker whose cache does not hold the run (it did not aggregate it)."""
    builder = SlicesBuilder()
    values: dict[str, Any] = {}
    try:
        with folder.open_read(TOGGL_AGGREGATED) as stream:
            reader = JsonReader(stream)
            reader.begin_object()
            while (key := reader.next_key()) is not None:
                if key != "users":
                    values[key] = reader.value()
                    continue
                reader.begin_array()
                while reader.next_item():
                    builder.add(UserAggregate.model_validate(reader.value()))
            reader.end()
        head = TogglAggregated.model_validate(values)
    except (ValueError, ValidationError) as exc:
        raise invalid_artifact(folder, TOGGL_AGGREGATED, TogglAggregated, exc) from None
    return builder.finish(head)
