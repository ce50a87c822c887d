import json
from datetime import date
from pathlib import Path

from volt_agent.domain.models import CompletenessCheck
from volt_agent.pipeline.types import FetchResult, RunRef, RunStatusUpdate, TogglQuota
from volt_agent.storage.run_folder import RunFolder
from volt_agent.storage.run_metadata import apply_update, load_metadata, record


def update(tmp_path: Path, status: str, at: str, **kw: object) -> RunStatusUpdate:
    return RunStatusUpdate.model_validate(
        {
            "run": RunRef(run_id="r1"),
            "workflow_id": "toggl-fibery-r1",
            "status": status,
            "at": at,
            **kw,
        }
    )


def test_lifecycle_start_stage_fail(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "r1")
    record(
        folder,
        update(
            tmp_path,
            "in_progress",
            "2026-11-24T10:00:00+00:00",
            starting=True,
            parameters={"start_from": "toggl"},
        ),
    )
    record(
        folder,
        update(
            tmp_path,
            "in_progress",
            "2026-11-24T10:01:00+00:00",
            stage_completed="toggl",
            statistics={"toggl": {"entries": 5}},
        ),
    )
    meta = record(
        folder,
        update(
            tmp_path,
            "failed",
            "2026-11-24T10:02:00+00:00",
            stage_failed="fibery",
            error="Fibery: token rejected",
        ),
    )
    assert meta.status == "failed"
    assert meta.stages_completed == ["toggl"]
    assert meta.stages_failed == ["fibery"]
    assert meta.error == "Fibery: token rejected"
    assert meta.statistics == {"toggl": {"entries": 5}}
    assert meta.finished_at is not None
    assert meta.finished_at.isoformat() == "2026-11-24T10:02:00+00:00"
    assert load_metadata(folder) == meta


def test_rerun_from_fibery_keeps_toggl_stage_and_clears_error(tmp_path: Path) -> None:
    first = apply_update(
        None, update(tmp_path, "in_progress", "2026-11-24T10:00:00+00:00", starting=True)
    )
    first = apply_update(
        first,
        update(
            tmp_path,
            "failed",
            "2026-11-24T10:01:00+00:00",
            stage_completed="toggl",
            stage_failed="fibery",
            error="x",
            statistics={"toggl": {"entries": 5}},
        ),
    )
    rerun = apply_update(
        first,
        update(
            tmp_path,
            "in_progress",
            "2026-11-24T11:00:00+00:00",
            starting=True,
            parameters={"start_from": "fibery"},
        ),
    )
    assert rerun.stages_completed == ["toggl"]
    assert rerun.stages_failed == []
    assert rerun.error is None
    assert rerun.finished_at is None
    assert rerun.created_at == first.created_at
    assert rerun.statistics == {"toggl": {"entries": 5}}
    fresh = apply_update(
        first,
        update(
            tmp_path,
            "in_progress",
            "2026-11-24T11:00:00+00:00",
            starting=True,
            parameters={"start_from": "toggl"},
        ),
    )
    assert fresh.stages_completed == []
    assert fresh.statistics == {}


def test_fetch_agreement_visibility_and_quota_land_in_the_statistics(tmp_path: Path) -> None:
    fetched = FetchResult(
        entries=3,
        users=1,
        requests=4,
        pages=1,
        completeness=CompletenessCheck(
            start_date=date(2026, 11, 15),
            end_date=date(2026, 11, 23),
            expected_seconds=5400,
            fetched_seconds=5400,
            requests=1,
        ),
        token_is_admin=False,
        default_timezone="Europe/Berlin",
        quota=TogglQuota(quota_remaining=25, quota_resets_in=1800.0, quota_remaining_min=25),
    )
    folder = RunFolder(tmp_path, "r1")
    stats = {"toggl": fetched.model_dump()}  # what the workflow records after the fetch
    record(folder, update(tmp_path, "in_progress", "2026-11-24T10:00:00+00:00", statistics=stats))
    saved = json.loads(folder.file("run_metadata.json").read_text())["statistics"]["toggl"]
    assert saved["completeness"] == {
        "start_date": "2026-11-15",
        "end_date": "2026-11-23",
        "expected_seconds": 5400,
        "fetched_seconds": 5400,
        "requests": 1,
        "attempts": 1,
        "running_timers": 0,
        "agreed": True,
        "accepted": True,
    }
    assert saved["token_is_admin"] is False
    assert saved["default_timezone"] == "Europe/Berlin"
    assert saved["quota"] == {
        "quota_remaining": 25,
        "quota_resets_in": 1800.0,
        "quota_remaining_min": 25,
        "user_quota_remaining": None,
        "user_quota_resets_in": None,
    }
    assert saved["statistics"]["outside_range_dropped"] == 0
