"""``volt-agent doctor`` against the simulators, the fake LLM and the session's Temporal dev
server over real sockets; ``--record`` of it, and its replay."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr
from typer.testing import CliRunner

from volt_agent.cli import app
from volt_agent.config import Secrets, Settings, load_settings
from volt_agent.doctor import Check, run_doctor
from volt_agent.doctor.apis import TOGGL_REQUEST_BUDGET
from volt_agent.pipeline.devserver import DevServer
from volt_agent.sandbox import Simulators, Workspace, WorkspaceSpec, generate_workspace
from volt_agent.sandbox import run_simulators as serve_simulators
from volt_agent.sandbox.fake_llm import FAKE_LLM_KEY, FakeLlm
from volt_agent.sources.replay import replay_transport

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[2]
SPEC = WorkspaceSpec(users=5, days=5, seed=23)
LAST_DAY = SPEC.start_date + timedelta(days=SPEC.days - 1)
OVERRIDES = (
    "TOGGL_BASE_URL",
    "TOGGL_WORKSPACE_ID",
    "FIBERY_BASE_URL",
    "OPENAI_BASE_URL",
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "VOLT_AGENT_OUTPUT_DIR",
)
CHECKS = [
    "Toggl token",
    "Toggl workspace",
    "Toggl visibility",
    "Toggl plan",
    "Toggl reports",
    "Toggl quota",
    "Fibery access",
    "Fibery enrichment config",
    "LLM",
    "Temporal",
    "Output folder",
]
runner = CliRunner()


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    return generate_workspace(SPEC)


@pytest.fixture(scope="module")
def shared(workspace: Workspace) -> Iterator[Simulators]:
    with serve_simulators(workspace) as running:
        yield running


@pytest.fixture
def sims(shared: Simulators) -> Simulators:
    shared.toggl.reset_stats()
    shared.fibery.reset_stats()
    return shared


@pytest.fixture(scope="module")
def llm_url() -> Iterator[str]:
    with FakeLlm().serve() as url:
        yield url


def config_data(
    tmp_path: Path, sims: Simulators, llm_url: str, server: DevServer
) -> dict[str, Any]:
    return {
        "output_dir": str(tmp_path / "runs"),
        "data_dir": str(tmp_path / "data"),
        "toggl": {
            "base_url": sims.toggl.base_url,
            "workspace_id": sims.workspace_id,
            "requests_per_second": 100,
        },
        "fibery": {"base_url": sims.fibery.base_url, "requests_per_second": 100},
        "temporal": {"dev_server_port": server.port, "namespace": server.namespace},
        "llm": {
            "provider": "openai",
            "base_url": llm_url,
            "model": "fake-model",
            "prompts_dir": str(REPO / "config" / "prompts"),
        },
    }


@pytest.fixture
def cli_env(
    tmp_path: Path,
    sims: Simulators,
    llm_url: str,
    temporal_dev_server: DevServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A folder with config.yaml + the repository's enrichment_config.yaml, as the CWD."""
    monkeypatch.chdir(tmp_path)
    for name in OVERRIDES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TOGGL_API_TOKEN", sims.toggl.token)
    monkeypatch.setenv("FIBERY_API_TOKEN", sims.fibery.token)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_LLM_KEY)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(config_data(tmp_path, sims, llm_url, temporal_dev_server)))
    (tmp_path / "enrichment_config.yaml").write_text(
        (REPO / "config" / "enrichment_config.yaml").read_text()
    )
    return config


def doctor(*args: str) -> tuple[int, list[str]]:
    result = runner.invoke(app, ["doctor", *args])
    return result.exit_code, [line for line in result.output.splitlines() if line.strip()]


def test_doctor_against_the_sandbox_prints_all_ok_in_four_toggl_requests(
    cli_env: Path, sims: Simulators
) -> None:
    recording = cli_env.parent / "recording"
    code, lines = doctor("--config", str(cli_env), "--record", str(recording))
    assert code == 0, "\n".join(lines)
    assert [line.split()[0] for line in lines] == ["ok"] * len(CHECKS), "\n".join(lines)
    assert [line[8:].split(":")[0] for line in lines] == CHECKS
    toggl, fibery = sims.toggl.stats(), sims.fibery.stats()
    assert toggl["requests"] <= TOGGL_REQUEST_BUDGET
    assert fibery["requests"] == 1
    assert not any(sims.toggl.token in line or sims.fibery.token in line for line in lines)
    assert not (cli_env.parent / "runs").exists()
    assert len(list(recording.glob("toggl-*.json"))) == toggl["requests"]
    assert len(list(recording.glob("fibery-*.json"))) == 1


def test_a_wrong_field_in_the_enrichment_config_is_one_error_line(
    cli_env: Path, sims: Simulators
) -> None:
    enrichment = cli_env.parent / "enrichment_config.yaml"
    data = yaml.safe_load(enrichment.read_text())
    data["types"]["Scrum/Task"]["fields"]["estimate"] = "Scrum/Estimat"
    enrichment.write_text(yaml.safe_dump(data))
    code, lines = doctor("--config", str(cli_env))
    assert code == 1
    errors = [line for line in lines if line.startswith("error")]
    assert len(errors) == 1, "\n".join(lines)
    assert errors[0].startswith("error   Fibery enrichment config:")
    assert "'Scrum/Estimat'" in errors[0]
    assert "Scrum/Estimate" in errors[0]
    assert len(lines) == len(CHECKS)


def test_record_masks_every_secret_and_replays_to_the_same_result(
    tmp_path: Path,
    sims: Simulators,
    workspace: Workspace,
    llm_url: str,
    temporal_dev_server: DevServer,
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(config_data(tmp_path, sims, llm_url, temporal_dev_server)))
    settings = load_settings(config, REPO / "config" / "enrichment_config.yaml", env={})
    secrets = Secrets(
        toggl_api_token=SecretStr(sims.toggl.token),
        fibery_api_token=SecretStr(sims.fibery.token),
        openai_api_key=SecretStr(FAKE_LLM_KEY),
    )
    recording = tmp_path / "recording"
    live = doctor_run(settings, secrets, record_dir=recording)
    assert [c.status for c in live] == ["ok"] * len(CHECKS), [c.line() for c in live]
    assert "entries on its first page" in live[CHECKS.index("Toggl reports")].message

    text = recorded_text(recording)
    assert "user1@example.invalid" in text
    assert "Person 1" in text
    people = [(u.email, u.fullname) for u in workspace.toggl_users]
    people += [(u.get("email", ""), u.get("name", "")) for u in workspace.fibery_users]
    secrets_and_people = (sims.toggl.token, sims.fibery.token, FAKE_LLM_KEY, *sum(people, ()))
    assert [value for value in secrets_and_people if value and value in text] == []
    assert "authorization" not in text.lower()

    sims.toggl.reset_stats()
    sims.fibery.reset_stats()
    replayed = doctor_run(
        settings,
        secrets,
        toggl_transport=replay_transport(recording, "toggl"),
        fibery_transport=replay_transport(recording, "fibery"),
    )
    assert sims.toggl.stats()["requests"] == 0
    assert sims.fibery.stats()["requests"] == 0
    assert replayed == live


def recorded_text(directory: Path) -> str:
    files = sorted(directory.iterdir())
    assert [path.name.split("-")[0] for path in files] == ["fibery"] + ["toggl"] * (
        TOGGL_REQUEST_BUDGET
    )
    return "\n".join(path.read_text() for path in files)


def doctor_run(settings: Settings, secrets: Secrets, **kwargs: Any) -> list[Check]:
    return asyncio.run(run_doctor(settings, secrets, today=LAST_DAY, **kwargs))
