"""The sandbox: a seeded Toggl + Fibery workspace and HTTP simulators of both APIs.

``generate_workspace`` builds the data, ``create_toggl_app`` / ``create_fibery_app`` serve it
as ASGI apps (in-process through ``httpx.ASGITransport``), and ``run_simulators`` /
``serve_sandbox`` put them on real sockets.
"""

from volt_agent.sandbox.faults import FaultKind, FaultPlan, FaultRule, SimulatedDrop
from volt_agent.sandbox.fibery_sim import FiberySimulatorOptions, create_fibery_app
from volt_agent.sandbox.records import (
    DeletedRef,
    TimeEntryRecord,
    TogglProjectRecord,
    TogglUserRecord,
)
from volt_agent.sandbox.server import (
    ServedApp,
    SimulatorHandle,
    Simulators,
    run_simulators,
    serve_sandbox,
)
from volt_agent.sandbox.stats import RequestStats
from volt_agent.sandbox.toggl_sim import TogglSimulatorOptions, create_toggl_app
from volt_agent.sandbox.workspace import Workspace, WorkspaceSpec, generate_workspace

__all__ = [
    "DeletedRef",
    "FaultKind",
    "FaultPlan",
    "FaultRule",
    "FiberySimulatorOptions",
    "RequestStats",
    "ServedApp",
    "SimulatedDrop",
    "SimulatorHandle",
    "Simulators",
    "TimeEntryRecord",
    "TogglProjectRecord",
    "TogglSimulatorOptions",
    "TogglUserRecord",
    "Workspace",
    "WorkspaceSpec",
    "create_fibery_app",
    "create_toggl_app",
    "generate_workspace",
    "run_simulators",
    "serve_sandbox",
]
