"""``volt-agent demo`` as a user runs it: a subprocess, its own embedded Temporal server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from volt_agent.domain.local_time import local_date
from volt_agent.domain.models import EnrichedData, RawTogglData, TogglAggregated
from volt_agent.pipeline.devserver import free_ports
from volt_agent.storage.run_folder import user_slug

pytestmark = pytest.mark.e2e

REPO = Path(__file__).parents[2]
CLI = [sys.executable, "-m", "volt_agent.cli"]
TOTAL_LINE = re.compile(r"^- Total: (\d+\.\d{2}) h in (\d+) entries$", re.MULTILINE)


def write_config(tmp_path: Path) -> Path:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    port, ui_port = free_ports(2)
    config["output_dir"] = str(tmp_path / "runs")
    config["data_dir"] = str(tmp_path / "data")
    config["temporal"].update(dev_server_port=port, dev_server_ui_port=ui_port, address=None)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    (tmp_path / "enrichment_config.yaml").write_text(
        (REPO / "config" / "enrichment_config.yaml").read_text()
    )
    return path


@pytest.mark.timeout(240)
def test_demo_writes_every_artifact_with_consistent_hours(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)}
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv of our own CLI
            [*CLI, "demo", "--config", str(config), "--users", "6", "--days", "5"],
            capture_output=True,
            text=True,
            timeout=200,
            env=env,
            cwd=tmp_path,
            check=False,
        )
    finally:
        subprocess.run(  # noqa: S603
            [*CLI, "server", "stop", "--config", str(config)],
            capture_output=True,
            timeout=60,
            env=env,
            cwd=tmp_path,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "completed" in done.stdout
    assert "/namespaces/default/workflows/toggl-fibery-run_" in done.stdout

    (folder,) = (tmp_path / "runs").iterdir()
    meta = json.loads((folder / "run_metadata.json").read_text())
    assert meta["status"] == "completed"
    raw = RawTogglData.model_validate_json((folder / "raw_toggl_data.json").read_text())
    aggregated = TogglAggregated.model_validate_json((folder / "toggl_aggregated.json").read_text())
    enriched = EnrichedData.model_validate_json((folder / "enriched_data.json").read_text())
    assert (folder / "reports" / "toggl_summary.md").read_text().startswith("# ")
    team = (folder / "reports" / "team_summary.md").read_text()
    assert team.startswith("# ")
    check_findings_hold(team, enriched)
    accomplishments = team.split("## Accomplishments")[1].split("## Focus areas", maxsplit=1)[0]
    assert ROW_REF.findall(accomplishments), accomplishments

    seconds: dict[int, int] = defaultdict(int)
    counts: dict[int, int] = defaultdict(int)
    for entry in raw.entries:
        seconds[entry.user_id] += entry.seconds
        counts[entry.user_id] += 1
    assert {u.user_id for u in aggregated.users} == set(seconds)
    for user in aggregated.users:
        report = folder / "reports" / "individual" / f"{user_slug(user.user_name, user.user_id)}.md"
        match = TOTAL_LINE.search(report.read_text())
        assert match is not None, report
        assert float(match.group(1)) == round(seconds[user.user_id] / 3600, 2)
        assert int(match.group(2)) == counts[user.user_id]


ROW_REF = re.compile(r"^\| (\S+/\S+) \| #(\S+) \|", re.MULTILINE)
CLOSED_FINDING = re.compile(r"^- \*\*\w+\*\* \(closed_entity_time, .*? on (\S+/\S+) #(\S+) ")


def check_findings_hold(team: str, data: EnrichedData) -> None:
    """At most 10 findings; accomplishments closed within the period; a closed-entity finding
    only for an entity with a known closing date and an entry that started after it."""
    gaps = team.split("## Gaps and unusual patterns")[1]
    gaps = gaps.split("## Individual reports", maxsplit=1)[0]
    listed = [line for line in gaps.splitlines() if line.startswith("- **")]
    assert 0 < len(listed) <= 10, gaps
    entities = {(e.type_key, e.public_id): e for e in data.entities}
    done = team.split("## Accomplishments")[1].split("## Focus areas", maxsplit=1)[0]
    period = (data.aggregated.start_date, data.aggregated.end_date)
    for key in ROW_REF.findall(done):
        entity = entities[key]
        day = entity.closed_at.date() if entity.closed_at else entity.closed_on
        assert day is not None, key
        assert period[0] <= day <= period[1], key
    for line in listed:
        match = CLOSED_FINDING.match(line)
        if match is None:
            continue
        entity = entities[(match.group(1), match.group(2))]
        starts = [
            (r.start, u.timezone)
            for u in data.aggregated.users
            for m in u.matched
            if (m.type_key, m.entity_id) == (entity.type_key, entity.public_id)
            for r in m.entries
        ]
        if entity.closed_at is not None:
            assert any(start >= entity.closed_at for start, _ in starts), line
        else:
            assert entity.closed_on is not None, line
            assert any(local_date(start, zone) > entity.closed_on for start, zone in starts), line
