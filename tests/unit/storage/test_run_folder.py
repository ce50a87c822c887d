import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from volt_agent.domain.models import TogglUser
from volt_agent.errors import UserInputError
from volt_agent.storage.atomic import StorageError, write_text_atomic
from volt_agent.storage.run_folder import RunFolder, new_run_id, user_slug, validate_run_id


def test_new_run_id_is_utc() -> None:
    local = datetime(2026, 11, 24, 8, 5, 9, tzinfo=timezone(timedelta(hours=3)))
    assert new_run_id(local) == "run_2026-11-24-05-05-09"
    assert validate_run_id(new_run_id(datetime.now(UTC)))


@pytest.mark.parametrize(
    "bad", ["", "../x", "a/b", "..", "a..b", ".hidden", "-x", "x" * 101, "a b", "ä"]
)
def test_bad_run_ids_rejected(bad: str) -> None:
    with pytest.raises(UserInputError, match="invalid run id"):
        validate_run_id(bad)


@pytest.mark.parametrize("good", ["run_2026-11-24-05-05-09", "weekly.42", "A", "x" * 100])
def test_good_run_ids_accepted(good: str) -> None:
    assert validate_run_id(good) == good


def test_save_load_round_trip_and_no_temp_files(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "r1")
    user = TogglUser(id=1, email="a@b.c", name="Ann")
    folder.save("u.json", user)
    assert folder.load("u.json", TogglUser) == user
    assert sorted(p.name for p in folder.path.iterdir()) == ["u.json"]


def test_load_errors_are_one_line(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "r1")
    with pytest.raises(StorageError, match="does not exist"):
        folder.load("missing.json", TogglUser)
    folder.save_text("bad.json", '{"id": "x"}')
    with pytest.raises(StorageError, match="not a valid TogglUser"):
        folder.load("bad.json", TogglUser)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_folder_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    write_text_atomic(target, "old")
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(StorageError, match="cannot write"):
            write_text_atomic(target, "new")
    finally:
        tmp_path.chmod(0o700)
    assert target.read_text() == "old"


def test_failed_replace_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    write_text_atomic(target, "old")
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(StorageError):
        write_text_atomic(tmp_path / "dir.json", "new")
    assert target.read_text() == "old"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_remove_files_and_folders(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "r1")
    folder.save_text("a.json", "{}")
    folder.save_text("reports/individual/x.md", "#")
    assert folder.remove("a.json", "reports", "absent.json") == ["a.json", "reports"]
    assert not folder.exists("a.json")


def test_user_slug() -> None:
    assert user_slug("Anna Müller", 7) == "anna-müller-7"
    assert user_slug("Иван Петров", 8) == "иван-петров-8"
    assert user_slug("../../etc", 9) == "etc-9"
    assert user_slug("🎉", 3) == "user-3"
