import pytest

from volt_agent.sandbox import Workspace, WorkspaceSpec, generate_workspace


@pytest.fixture(scope="session")
def workspace() -> Workspace:
    return generate_workspace(WorkspaceSpec())
