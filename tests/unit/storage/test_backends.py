"""The storage choice and the local backend's folder operations (the bucket backend is
tested against a real S3 server in tests/integration/test_storage_s3.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from volt_agent.config import Settings, load_settings
from volt_agent.errors import ConfigError
from volt_agent.runs import run_ids
from volt_agent.storage.atomic import ArtifactNotFoundError, StorageError
from volt_agent.storage.backends import BucketStore, LocalStore, check_key, open_storage
from volt_agent.storage.run_folder import RunFolder, open_run_folder


def test_local_is_the_default_and_keeps_the_layout(tmp_path: Path) -> None:
    settings = Settings(output_dir=tmp_path / "runs")
    folder = open_run_folder(settings, "run-1")
    assert isinstance(folder.storage, LocalStore)
    where = folder.save_text("reports/team_summary.md", "# Team\n")
    assert where == str(tmp_path / "runs" / "run-1" / "reports" / "team_summary.md")
    assert (tmp_path / "runs" / "run-1" / "reports" / "team_summary.md").read_text() == "# Team\n"
    assert folder.path == tmp_path / "runs" / "run-1"
    assert folder.location() == str(tmp_path / "runs" / "run-1")


def test_storage_url_from_the_environment_picks_the_bucket(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("output_dir: runs\n")
    assert load_settings(config, env={}).storage_url is None
    env = {"VOLT_AGENT_STORAGE_URL": "s3://team-bucket/volt/runs"}
    settings = load_settings(config, env=env)
    assert settings.storage_url == "s3://team-bucket/volt/runs"
    store = open_storage(settings, {"AWS_REGION": "eu-central-1"})
    assert isinstance(store, BucketStore)
    assert store.location("run-1/enriched_data.json") == (
        "s3://team-bucket/volt/runs/run-1/enriched_data.json"
    )


def test_a_bucket_folder_has_no_local_path() -> None:
    folder = RunFolder(BucketStore("s3://b/p", {"AWS_REGION": "us-east-1"}), "run-1")
    with pytest.raises(StorageError, match="is not on this machine's disk"):
        _ = folder.path


def test_aws_variables_take_the_sdk_precedence() -> None:
    env = {
        "AWS_ENDPOINT_URL": "http://general:9000",
        "AWS_ENDPOINT_URL_S3": "http://s3-only:9000",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "us-east-2",
        "AWS_ACCESS_KEY_ID": "key",
        "AWS_SECRET_ACCESS_KEY": "secret",
    }
    store = BucketStore("s3://b/p", env)
    config = store._store.config
    assert config["endpoint"] == "http://s3-only:9000"
    assert config["region"] == "us-east-2"
    assert config["access_key_id"] == "key"
    assert store._store.client_options == {"allow_http": "true"}  # http:// endpoint
    https = BucketStore("s3://b", {"AWS_ENDPOINT_URL": "https://minio.internal"})
    assert not (https._store.client_options or {}).get("allow_http")


@pytest.mark.parametrize("url", ["bucket/runs", "s3://", "gs://b/p", "s3://b/a//c", "s3://b/.."])
def test_bad_storage_urls_say_what_to_fix(url: str) -> None:
    with pytest.raises(ConfigError, match="storage_url"):
        BucketStore(url, {})


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", "./a", "a\\b", "a\x00"])
def test_keys_outside_a_run_folder_are_refused(key: str) -> None:
    with pytest.raises(StorageError, match="invalid file name"):
        check_key(key)


def test_local_names_remove_and_present(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "run-1")
    assert not folder.present()
    assert folder.names() == []
    folder.save_text("enrichment/a-0.json", "{}")
    folder.save_text("enrichment/a-1.json", "{}")
    folder.save_text("raw_toggl_data.json", "{}")
    (folder.path / "enrichment" / ".a-2.json.x.tmp").write_text("half")  # an unfinished write
    assert folder.present()
    assert folder.names() == ["enrichment/a-0.json", "enrichment/a-1.json", "raw_toggl_data.json"]
    assert folder.names("enrichment") == ["a-0.json", "a-1.json"]
    assert folder.remove("enrichment", "missing.json") == ["enrichment"]
    assert folder.names() == ["raw_toggl_data.json"]
    with pytest.raises(ArtifactNotFoundError, match=r"run-1/missing.json does not exist"):
        folder.read_bytes("missing.json")


def test_run_ids_are_the_folders_with_metadata(tmp_path: Path) -> None:
    RunFolder(tmp_path, "done").save_text("run_metadata.json", "{}")
    RunFolder(tmp_path, "half").save_text("raw_toggl_data.json", "{}")
    (tmp_path / ".hidden").mkdir()
    assert run_ids(Settings(output_dir=tmp_path)) == ["done"]
    assert run_ids(Settings(output_dir=tmp_path / "none")) == []
