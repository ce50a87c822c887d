"""Fixtures of the client tests."""

from __future__ import annotations

import pytest

from tests.unit.sources.fakes import FakeSleep


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()
