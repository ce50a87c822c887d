"""Two consecutive demo weeks (same seed, same output folder): week 2's ``trends.json`` and
reports carry the deltas this test computes on its own from the two runs' JSON files."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_demo import CLI, write_config

pytestmark = pytest.mark.e2e


def demo(config: Path, tmp_path: Path, week: int) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)}
    size = ["--users", "5", "--days", "4", "--week", str(week)]
    return subprocess.run(  # noqa: S603 - fixed argv of our own CLI
        [*CLI, "demo", "--config", str(config), *size],
        capture_output=True,
        text=True,
        timeout=200,
        env=env,
        cwd=tmp_path,
        check=False,
    )


def per_person(data: dict[str, Any]) -> dict[str, int]:
    return {str(u["user_id"]): u["total_seconds"] for u in data["aggregated"]["users"]}


def per_key(data: dict[str, Any], field: str, none: str, unmatched: str) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for user in data["aggregated"]["users"]:
        for entity in user["matched"]:
            totals[entity[field] or none] += entity["seconds"]
        if user["unmatched_seconds"]:
            totals[unmatched] += user["unmatched_seconds"]
    return dict(totals)


def share(data: dict[str, Any]) -> float:
    stats = data["aggregated"]["statistics"]
    return round(100 * stats["matched_seconds"] / stats["total_seconds"], 1)


def closed(data: dict[str, Any]) -> set[tuple[str, str]]:
    start = date.fromisoformat(data["aggregated"]["start_date"])
    end = date.fromisoformat(data["aggregated"]["end_date"])
    keys = set()
    for entity in data["entities"]:
        if entity.get("closed_at"):
            day = datetime.fromisoformat(entity["closed_at"]).date()
        elif entity.get("closed_on"):
            day = date.fromisoformat(entity["closed_on"])
        else:
            continue
        if start <= day <= end:
            keys.add((entity["type_key"], entity["public_id"]))
    return keys


def as_deltas(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int, int]]:
    return {
        r["key"]: (r["previous_seconds"], r["current_seconds"], r["delta_seconds"]) for r in rows
    }


def expected(before: dict[str, int], now: dict[str, int]) -> dict[str, tuple[int, int, int]]:
    return {
        key: (before.get(key, 0), now.get(key, 0), now.get(key, 0) - before.get(key, 0))
        for key in before.keys() | now.keys()
    }


@pytest.mark.timeout(420)
def test_week_two_reports_deltas_against_week_one(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    try:
        first = demo(config, tmp_path, 1)
        assert first.returncode == 0, first.stdout + first.stderr
        second = demo(config, tmp_path, 2)
        assert second.returncode == 0, second.stdout + second.stderr
    finally:
        subprocess.run(  # noqa: S603
            [*CLI, "server", "stop", "--config", str(config)],
            capture_output=True,
            timeout=60,
            env={"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)},
            cwd=tmp_path,
            check=False,
        )
    week1, week2 = sorted((tmp_path / "runs").iterdir())
    one = json.loads((week1 / "enriched_data.json").read_text())
    two = json.loads((week2 / "enriched_data.json").read_text())
    assert two["aggregated"]["start_date"] == "2026-11-20"

    none_before = json.loads((week1 / "trends.json").read_text())
    assert none_before["previous_run_id"] is None
    assert "no completed run" in none_before["reason"]

    trends = json.loads((week2 / "trends.json").read_text())
    assert trends["previous_run_id"] == week1.name
    assert as_deltas(trends["hours_per_person"]) == expected(per_person(one), per_person(two))
    for name, field, none, unmatched in (
        ("hours_per_type", "entity_type", "(no type)", "(unmatched)"),
        ("hours_per_project", "project", "(no project)", "(no project)"),
    ):
        assert as_deltas(trends[name]) == expected(
            per_key(one, field, none, unmatched), per_key(two, field, none, unmatched)
        ), name
    assert trends["matched_share_previous"] == share(one)
    assert trends["matched_share_current"] == share(two)
    assert trends["matched_share_delta_pp"] == round(share(two) - share(one), 1)
    newly = {(c["type_key"], c["public_id"]) for c in trends["newly_closed"]}
    assert newly == closed(two) - closed(one)

    team = (week2 / "reports" / "team_summary.md").read_text()
    section = team.split("## Compared with the previous week")[1]
    assert f"Compared with run {week1.name}" in section
    users = {str(u["user_id"]): u for u in two["aggregated"]["users"]}
    for key, (before, now, delta) in expected(per_person(one), per_person(two)).items():
        name = users[key]["user_name"] if key in users else None
        if name is None:
            continue
        sign = "+" if delta > 0 else "-" if delta < 0 else "±"
        row = (
            f"| {name} | {before / 3600:.2f} | {now / 3600:.2f} | {sign}{abs(delta) / 3600:.2f} h |"
        )
        assert row in section, row
    html = (week2 / "reports" / "report.html").read_text()
    assert '<section id="trend-chart">' in html
    assert "<script" not in html
    assert "No comparison was possible" in (week1 / "reports" / "team_summary.md").read_text()
