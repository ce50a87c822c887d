from pathlib import Path

import pytest

from volt_agent.config import Settings, load_settings
from volt_agent.errors import ConfigError


def write(tmp_path: Path, toggl: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text("toggl:\n" + toggl)
    return path


def test_zones_by_email_and_default_zone_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "  default_timezone: Europe/Berlin\n"
        "  timezones:\n"
        "    Ana.West@Volt.Example: America/Los_Angeles\n"
        "    bo@volt.example: Asia/Kolkata\n",
    )
    toggl = load_settings(path, env={}).toggl
    assert toggl.default_timezone == "Europe/Berlin"
    assert toggl.timezones == {
        "ana.west@volt.example": "America/Los_Angeles",
        "bo@volt.example": "Asia/Kolkata",
    }


def test_unset_zones_mean_the_token_users_profile_zone() -> None:
    toggl = Settings().toggl
    assert toggl.default_timezone is None
    assert toggl.timezones == {}


@pytest.mark.parametrize(
    ("toggl", "named"),
    [
        ("  default_timezone: Europe/Berlinn\n", "'Europe/Berlinn'"),
        ("  timezones:\n    bo@volt.example: Mars/Olympus\n", "'Mars/Olympus'"),
        ("  timezones:\n    bo@volt.example: Europe\n", "'Europe'"),
        ("  timezones:\n    bo@volt.example: utc\n", "'utc'"),
    ],
)
def test_an_unknown_zone_is_a_one_line_error_naming_it(
    tmp_path: Path, toggl: str, named: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, toggl), env={})
    message = str(info.value)
    assert "\n" not in message
    assert f"unknown time zone {named}" in message
    assert "toggl." in message
    assert "IANA" in message


def test_timezones_keys_must_be_emails(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'Bo' is not an email"):
        load_settings(write(tmp_path, "  timezones:\n    Bo: Asia/Kolkata\n"), env={})


def test_zone_settings_survive_the_workflow_input_round_trip() -> None:
    settings = Settings.model_validate(
        {"toggl": {"timezones": {"a@b.c": "Asia/Kolkata"}, "default_timezone": "UTC"}}
    )
    again = Settings.model_validate_json(settings.model_dump_json())
    assert again.toggl.timezones == {"a@b.c": "Asia/Kolkata"}
    assert again.toggl.default_timezone == "UTC"
