"""``entries.csv`` streamed in chunks (issue 12) has the bytes of the whole-file export."""

from __future__ import annotations

import csv
import io

import pytest

from tests.unit.pipeline.test_offload import enriched_of, raw_of
from volt_agent.domain.rounding import RoundingPolicy
from volt_agent.reporting.exports import CHUNK_ROWS, entries_csv_chunks


@pytest.mark.parametrize("bom", [False, True])
def test_the_chunks_make_the_whole_file(bom: bool) -> None:
    data = enriched_of(raw_of(2 * CHUNK_ROWS + 7))
    chunks = list(entries_csv_chunks(data, RoundingPolicy("up", 15), bom=bom))
    assert len(chunks) == 3
    whole = b"".join(chunks)
    assert whole.startswith(b"\xef\xbb\xbfperson,") == bom
    assert whole.count(b"\xef\xbb\xbf") == int(bom)
    rows = list(csv.reader(io.StringIO(whole.decode("utf-8-sig"), newline="")))
    assert len(rows) == 1 + 2 * CHUNK_ROWS + 7
    assert rows[1][0] == data.aggregated.users[0].user_name
