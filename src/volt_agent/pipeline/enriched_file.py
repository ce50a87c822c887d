"""``enriched_data.json`` written without the aggregate's models (issue 12).

The file is ``EnrichedData``: the run's aggregate, every enriched entity and their counts.
Its ``aggregated`` member is ``toggl_aggregated.json`` itself, one indent level deeper, so it
is copied in from that file a chunk at a time instead of rendered from models the worker no
longer holds (``PersonSlices`` keeps people compressed); the entities come rendered, as the
run cache keeps them (``PackedEntities``). The bytes are exactly
``EnrichedData(...).model_dump_json(indent=2) + "\\n"``.
"""

from __future__ import annotations

import codecs
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

from volt_agent.domain.models import EnrichedData, TogglAggregated
from volt_agent.pipeline.offload import WRITE_CHUNK, iter_dump_spooled
from volt_agent.pipeline.raw_spool import SPOOL_BYTES
from volt_agent.storage.run_folder import TOGGL_AGGREGATED, RunFolder

_AGGREGATED = '\n  "aggregated": '
_ENTITIES = ',\n  "entities": '


def enriched_chunks(
    folder: RunFolder,
    head: TogglAggregated,
    entity_texts: Iterable[bytes],
    statistics: dict[str, Any],
) -> Iterator[bytes]:
    """The bytes of ``enriched_data.json`` for the run's ``toggl_aggregated.json``
    (``head``: any aggregate of the same period, a stand-in while rendering) and its
    entities rendered by ``offload.item_text`` (UTF-8)."""
    stand_in = TogglAggregated(start_date=head.start_date, end_date=head.end_date)
    frame = EnrichedData(aggregated=stand_in, statistics=statistics)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        count = 0
        for text in entity_texts:
            spool.write(b",\n" + text if count else text)
            count += 1
        pieces = iter_dump_spooled(frame, "entities", spool, count)
        first = next(pieces).decode("utf-8")  # up to the entities' "[": holds the stand-in
        start = first.index(_AGGREGATED) + len(_AGGREGATED)
        end = first.index(_ENTITIES, start)
        yield first[:start].encode("utf-8")
        yield from _indented(folder)
        yield first[end:].encode("utf-8")
        yield from pieces


def _indented(folder: RunFolder) -> Iterator[bytes]:
    """``toggl_aggregated.json`` one indent level deeper, without its final newline (JSON
    text holds no raw newline inside a string, so every newline is structure)."""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    held = ""
    with folder.open_read(TOGGL_AGGREGATED) as stream:
        while data := stream.read(WRITE_CHUNK):
            text = held + utf8.decode(data)
            text, held = text[:-1], text[-1:]
            yield text.replace("\n", "\n  ").encode("utf-8")
    text = held + utf8.decode(b"", final=True)
    yield text.removesuffix("\n").replace("\n", "\n  ").encode("utf-8")
