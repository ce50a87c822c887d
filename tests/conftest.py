"""Temporal fixtures shared by all test layers.

One throwaway dev server serves the whole session (started on first use only); tests isolate
themselves with a fresh task queue each (``task_queue``), not with a server of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from tests.s3_server import MotoServer
from volt_agent.pipeline.devserver import DevServer


@pytest.fixture(scope="session")
def temporal_dev_server() -> Iterator[DevServer]:
    """A dev server on free loopback ports with a temporary database, stopped after the session."""
    with DevServer() as server:
        yield server


@pytest.fixture
async def temporal_client(temporal_dev_server: DevServer) -> Client:
    """A client of the session's dev server with the pydantic data converter."""
    return await Client.connect(
        temporal_dev_server.address,
        namespace=temporal_dev_server.namespace,
        data_converter=pydantic_data_converter,
    )


@pytest.fixture
def task_queue() -> str:
    """A task queue no other test uses."""
    return f"test-{uuid.uuid4()}"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoServer]:
    """A moto S3 server process on a free loopback port, stopped after the session."""
    with MotoServer() as server:
        yield server
