"""What ``create_app`` keeps on ``app.state``, typed for the endpoints and pages."""

from __future__ import annotations

from fastapi import Request

from volt_agent.api.temporal import TemporalGateway
from volt_agent.config import Settings


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def gateway_of(request: Request) -> TemporalGateway:
    gateway: TemporalGateway = request.app.state.gateway
    return gateway
