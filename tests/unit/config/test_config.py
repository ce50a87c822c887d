from pathlib import Path

import pytest

from volt_agent.config import load_secrets, load_settings
from volt_agent.errors import ConfigError

REPO_CONFIG = Path(__file__).parents[3] / "config" / "config.yaml"


def test_repository_config_loads_with_all_types() -> None:
    settings = load_settings(REPO_CONFIG, env={})
    types = settings.enrichment.types
    for key in [
        "Scrum/Task",
        "Scrum/Bug",
        "Scrum/Sub-bug",
        "Scrum/Feature",
        "Scrum/Build",
        "Scrum/Sub-task",
        "Scrum/Chore",
        "Product/Feature",
    ]:
        assert key in types
        assert types[key].max_concurrent >= 1
    assert types["Scrum/Bug"].activity == "enrich_scrum_bug"
    assert settings.enrichment.for_type("Other/Thing") == settings.enrichment.default
    assert settings.toggl.requests_per_second == 1.0
    assert settings.fibery.requests_per_second == 3.0


def test_env_overrides_yaml() -> None:
    env = {
        "TOGGL_WORKSPACE_ID": "42",
        "FIBERY_BASE_URL": "http://127.0.0.1:1",
        "TEMPORAL_ADDRESS": "h:7233",
    }
    settings = load_settings(REPO_CONFIG, env=env)
    assert settings.toggl.workspace_id == 42
    assert settings.fibery.base_url == "http://127.0.0.1:1"
    assert settings.temporal.address == "h:7233"


def write(tmp_path: Path, config: str, enrichment: str | None = None) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(config)
    if enrichment is not None:
        (tmp_path / "enrichment_config.yaml").write_text(enrichment)
    return path


def test_malformed_yaml_is_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not valid YAML at line \d+: fix its syntax") as info:
        load_settings(write(tmp_path, "toggl:\n  page_size: [1, 2\n"), env={})
    assert "\n" not in str(info.value)


def test_invalid_values_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"toggl\.page_size"):
        load_settings(write(tmp_path, "toggl:\n  page_size: 0\n"), env={})
    with pytest.raises(ConfigError, match=r"surprise"):
        load_settings(write(tmp_path, "surprise: 1\n"), env={})


def test_unknown_enrichment_activity_and_bad_type_key(tmp_path: Path) -> None:
    bad_activity = "types:\n  Scrum/Task:\n    activity: enrich_everything\n"
    with pytest.raises(ConfigError, match=r"activity"):
        load_settings(write(tmp_path, "{}\n", bad_activity), env={})
    bad_key = "types:\n  Task:\n    activity: enrich_scrum_task\n"
    with pytest.raises(ConfigError, match=r"Space/Type"):
        load_settings(write(tmp_path, "{}\n", bad_key), env={})


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "nope.yaml", env={})


def test_secrets_from_env_only_and_hidden() -> None:
    secrets = load_secrets({"TOGGL_API_TOKEN": "tok-123", "FIBERY_API_TOKEN": " "})
    assert secrets.require_toggl().get_secret_value() == "tok-123"
    assert "tok-123" not in repr(secrets)
    with pytest.raises(ConfigError, match="FIBERY_API_TOKEN is not set"):
        secrets.require_fibery()
