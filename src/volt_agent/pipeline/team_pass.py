"""The team report's one pass over the run's people (issue 12).

Everything of the team report that looks at single entries is done here, person by person:
the rows of ``reports/entries.csv`` (spooled, then streamed to storage), the day totals and
every finding (``reporting.digest.DigestBuilder``). What stays is the rounded aggregate with
slim people and the digest, from which the Markdown, ``report.html`` and
``person_entity.csv`` are written; no person's entries outlive their turn.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

from volt_agent.domain.models import TogglAggregated
from volt_agent.domain.rounding import RoundingPolicy
from volt_agent.pipeline.offload import file_chunks
from volt_agent.pipeline.person_slices import PersonSlices
from volt_agent.pipeline.raw_spool import SPOOL_BYTES
from volt_agent.reporting.digest import DigestBuilder, RoundedDigest, TeamDigest
from volt_agent.reporting.exports import ENTRIES_CSV, entries_csv_header, entries_csv_person
from volt_agent.reporting.insights import EntityIndex, InsightSettings
from volt_agent.storage.run_folder import RunFolder


@dataclass(frozen=True)
class TeamPass:
    aggregated: TogglAggregated
    """The aggregate rounded by the report policy, its people slim."""
    digest: TeamDigest


def team_pass(
    folder: RunFolder,
    people: PersonSlices,
    entities: EntityIndex,
    policy: RoundingPolicy,
    settings: InsightSettings,
    *,
    bom: bool = False,
) -> TeamPass:
    """Write ``entries.csv`` and digest every person (synchronous: for a thread)."""
    head = people.head
    digest = RoundedDigest(
        policy,
        DigestBuilder(
            entities=entities, settings=settings, period=(head.start_date, head.end_date)
        ),
    )
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as rows:
        rows.write(entries_csv_header(bom=bom))
        for user in people.people():
            rows.write(entries_csv_person(user, entities, policy))
            digest.count(user)  # the head holds its slim form unless rounding changes it
        folder.save_stream(ENTRIES_CSV, file_chunks(rows))
    return TeamPass(*digest.finish(head))
