"""The earlier run of a trend comparison is read with slim people (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.pipeline.test_offload import enriched_of, raw_of
from volt_agent.domain.models import EnrichedData
from volt_agent.pipeline.trends_step import load_slim
from volt_agent.reporting.digest import slim_user
from volt_agent.reporting.trends import compute_trends
from volt_agent.storage.atomic import StorageError
from volt_agent.storage.run_folder import ENRICHED_DATA, RunFolder


def test_the_earlier_run_is_read_slim_and_compares_as_the_whole_file(tmp_path: Path) -> None:
    earlier = enriched_of(raw_of(3000, users=1))
    folder = RunFolder(tmp_path, "earlier")
    folder.save(ENRICHED_DATA, earlier)
    slim = load_slim(folder)
    assert slim.aggregated.users == [slim_user(u) for u in earlier.aggregated.users]
    assert sum(len(m.entries) for u in slim.aggregated.users for m in u.matched) < 3000
    assert slim.entities == earlier.entities
    assert slim.aggregated.statistics == earlier.aggregated.statistics
    current = enriched_of(raw_of(500, users=8))
    assert compute_trends(current, slim, "earlier") == compute_trends(current, earlier, "earlier")


@pytest.mark.parametrize(
    "text", ['{"aggregated": {"users": [{"user_id": "x"}]}}', '{"aggregated": [', "[]"]
)
def test_a_bad_earlier_file_is_a_storage_error_naming_it(tmp_path: Path, text: str) -> None:
    folder = RunFolder(tmp_path, "earlier")
    folder.save_text(ENRICHED_DATA, text)
    with pytest.raises(StorageError, match=r"enriched_data\.json is not a valid EnrichedData"):
        load_slim(folder)


def test_an_empty_run_reads_back_whole(tmp_path: Path) -> None:
    empty = EnrichedData.model_validate_json(
        '{"aggregated": {"start_date": "2026-11-16", "end_date": "2026-11-22"}}'
    )
    folder = RunFolder(tmp_path, "earlier")
    folder.save(ENRICHED_DATA, empty)
    assert load_slim(folder) == empty
