"""The contract fixtures stay traceable and independent of the simulators."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.contract._support import FIXTURES, load

CONTRACT_DIR = Path(__file__).parent
FIXTURE_FILES = sorted(FIXTURES.glob("*/*.json"))


def test_there_are_fixtures_for_both_apis() -> None:
    assert {path.parent.name for path in FIXTURE_FILES} == {"toggl", "fibery"}


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_fixture_is_a_response_named_in_its_sources_table(path: Path) -> None:
    fixture = load(f"{path.parent.name}/{path.name}")
    sources = (path.parent / "SOURCES.md").read_text(encoding="utf-8")

    assert f"| `{path.name}` |" in sources
    assert isinstance(fixture["status"], int)
    assert isinstance(fixture.get("headers", {}), dict)
    assert ("body" in fixture) != ("text" in fixture)


@pytest.mark.parametrize("path", sorted(CONTRACT_DIR.glob("*.py")), ids=lambda p: p.name)
def test_no_contract_module_imports_the_simulators(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = [
        name
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    ]

    assert not [name for name in imported if name.startswith("volt_agent.sandbox")]
