"""Shared helpers of the sandbox tests: in-process clients and a controllable clock."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

TOGGL_TOKEN = "toggl-sandbox-token"
FIBERY_TOKEN = "fibery-sandbox-token"
REFERENCE = re.compile(r"#(\d+) \[([^\]]+)\] \[([^\]]+)\] \[([^\]]+)\]$")


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def toggl_client(app: FastAPI, token: str = TOGGL_TOKEN) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://toggl.test",
        auth=(token, "api_token"),
    )


def fibery_client(app: FastAPI, token: str = FIBERY_TOKEN) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://fibery.test",
        headers={"Authorization": f"Token {token}"},
    )
