"""The run's enriched entities kept compressed in the run cache (issue 12).

As models, the entities of an org-scale run were the largest thing a worker held through
the person reports (52 MiB traced for 19.6k entities at 1,000 people), though each report
reads only its person's few dozen. ``PackedEntities`` keeps each entity as its
``enriched_data.json`` rendering (``offload.item_text``), zlib-compressed against a preset
dictionary taken from the first entities packed (field names, states and people repeat
from one entity to the next; 6.2 MiB for those 19.6k). A lookup validates the one
entity it returns (about 30 µs); ``enriched_data.json`` takes the renderings as they are,
never the models; the statistics of ``enriched_data.json`` are counted as entities are
packed.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from volt_agent.domain.models import EnrichedEntity
from volt_agent.pipeline.offload import item_text

Key = tuple[str, str]
"""``(type_key, public_id)``."""
DICTIONARY_BYTES = 16 * 1024
"""Of the first batch's renderings; zlib reads it for every entity compressed, so a longer
one costs more CPU than it saves memory (19.6k entities: 16 KiB 6.2 MiB in 0.7 s, 32 KiB
5.8 MiB in 1.1 s)."""
COMPRESSION_LEVEL = 1


@dataclass
class EntityTally:
    """What ``enriched_data.json``'s statistics and ``save_enriched_data``'s result count."""

    by_type: dict[str, Counter[str]] = field(default_factory=dict)
    """Statuses per entity type."""
    comments: int = 0
    """Comments Fibery reported (``comment_count``, at least the ones kept)."""
    comments_kept: int = 0
    truncated_entities: int = 0
    """Entities that kept fewer comments than Fibery reported."""

    def add(self, entity: EnrichedEntity) -> None:
        self.by_type.setdefault(entity.type_key, Counter())[entity.status] += 1
        kept = len(entity.comments)
        reported = max(entity.comment_count, kept)
        self.comments += reported
        self.comments_kept += kept
        self.truncated_entities += reported > kept

    def statistics(self) -> dict[str, Any]:
        """``enriched_data.json``'s ``statistics``: the statuses, overall and per type."""
        total: Counter[str] = Counter()
        for counts in self.by_type.values():
            total.update(counts)
        return {
            "entities": total.total(),
            "found": total["found"],
            "not_found": total["not_found"],
            "error": total["error"],
            "by_type": {k: dict(sorted(c.items())) for k, c in sorted(self.by_type.items())},
        }


class PackedEntities(Mapping[Key, EnrichedEntity]):
    """Entities by ``(type_key, public_id)``, compressed; read-only but for ``add_batch``,
    ``pop`` and ``clear``. Iterates in the order the entities were added; a key added again
    is ignored (a run's plan has each key once)."""

    def __init__(self) -> None:
        self._blobs: dict[Key, bytes] = {}
        self._dictionary = b""
        self.tally = EntityTally()

    @classmethod
    def of(cls, batches: Iterable[Iterable[EnrichedEntity]]) -> PackedEntities:
        """Pack ``batches`` in order: the first batch gives the dictionary."""
        packed = cls()
        for batch in batches:
            packed.add_batch(batch)
        return packed

    def add_batch(self, entities: Iterable[EnrichedEntity]) -> None:
        texts = [(entity, item_text(entity).encode("utf-8")) for entity in entities]
        if not self._dictionary:
            self._dictionary = b"".join(text for _, text in texts)[-DICTIONARY_BYTES:]
        for entity, text in texts:
            key = (entity.type_key, entity.public_id)
            if key in self._blobs:
                continue
            compressor = zlib.compressobj(COMPRESSION_LEVEL, zdict=self._dictionary)
            self._blobs[key] = compressor.compress(text) + compressor.flush()
            self.tally.add(entity)

    def __getitem__(self, key: Key) -> EnrichedEntity:
        return EnrichedEntity.model_validate_json(self.text(key))

    def __iter__(self) -> Iterator[Key]:
        return iter(self._blobs)

    def __len__(self) -> int:
        return len(self._blobs)

    def __contains__(self, key: object) -> bool:
        return key in self._blobs

    @property
    def nbytes(self) -> int:
        """The compressed renderings' size (the dictionary and the keys aside)."""
        return sum(map(len, self._blobs.values()))

    def text(self, key: Key) -> bytes:
        """The entity as ``enriched_data.json`` renders it in its list (UTF-8, no separator)."""
        decompressor = zlib.decompressobj(zdict=self._dictionary)
        return decompressor.decompress(self._blobs[key]) + decompressor.flush()

    def texts(self) -> Iterator[bytes]:
        """``text`` of every entity, in order."""
        return (self.text(key) for key in list(self._blobs))

    def pop(self, key: Key) -> EnrichedEntity:
        """The entity, forgotten here (the tally keeps counting it)."""
        entity = self[key]
        del self._blobs[key]
        return entity

    def clear(self) -> None:
        self._blobs.clear()
