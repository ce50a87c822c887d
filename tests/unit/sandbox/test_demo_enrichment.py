"""The demo's packaged enrichment config: the repository's, so the demo finds closing dates
wherever it is started (``volt-agent demo`` outside a checkout has no ``config/`` folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from volt_agent.config import load_settings
from volt_agent.demo import sandbox_enrichment

REPO = Path(__file__).resolve().parents[3]


def test_the_packaged_copy_is_the_repository_config() -> None:
    packaged = REPO / "src" / "volt_agent" / "sandbox" / "enrichment_config.yaml"
    assert packaged.read_bytes() == (REPO / "config" / "enrichment_config.yaml").read_bytes()


def test_it_names_the_closing_date_of_every_scrum_work_item(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrichment = sandbox_enrichment()
    closing = {key: kind.closed_at for key, kind in enrichment.types.items()}
    assert closing["Scrum/Task"] == "completed"
    assert closing["Scrum/Bug"] == "resolved"
    monkeypatch.chdir(tmp_path)
    outside = load_settings(env={})
    assert outside.enrichment.types == {}  # what the demo sees outside a checkout
