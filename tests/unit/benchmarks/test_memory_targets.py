"""Issue 12's memory targets: org's worker < 350 MiB and CLI < 150 MiB; org2's worker peak
under 1.3 x org's (read from org's results file), left out while there is none."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.report import memory_targets, targets_for


def pipeline(worker: float, cli: float = 100.0) -> dict[str, float]:
    return {"worker_peak_rss_mib": worker, "cli_peak_rss_mib": cli}


def test_org_checks_the_worker_and_the_cli() -> None:
    targets = {t.name: t for t in memory_targets("org", pipeline(349.0, 151.0))}
    assert targets["worker peak RSS (MiB)"].passed
    assert targets["worker peak RSS (MiB)"].limit == 350
    assert not targets["CLI peak RSS (MiB)"].passed


def test_org2_is_compared_with_the_org_results(tmp_path: Path) -> None:
    assert memory_targets("org2", pipeline(400.0), tmp_path) == []
    org = {"pipeline": pipeline(300.0)}
    (tmp_path / "org.json").write_text(json.dumps(org))
    under, over = (
        memory_targets("org2", pipeline(worker), tmp_path)[0] for worker in (389.0, 391.0)
    )
    assert (under.value, under.passed) == (1.297, True)
    assert (over.value, over.passed) == (1.303, False)
    assert memory_targets("team", pipeline(400.0), tmp_path) == []


def test_an_org2_result_is_checked_against_the_org_run_in_its_own_results_dir(
    tmp_path: Path,
) -> None:
    (tmp_path / "org.json").write_text(json.dumps({"pipeline": pipeline(200.0)}))
    (target,) = targets_for("org2", {"pipeline": pipeline(270.0)}, tmp_path)[:1]
    assert (target.name, target.value, target.passed) == ("worker peak RSS / org's", 1.35, False)
