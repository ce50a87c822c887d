"""Fixtures shared by the integration tests that drive a real browser."""

from __future__ import annotations

import os
import shutil

import pytest

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    for name in (os.environ.get("CHROMIUM", ""), *CANDIDATES):
        found = shutil.which(name) if name else None
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser_path() -> str:
    """The headless Chromium to drive; ``make test`` installs Debian's when it runs as root."""
    found = find_chromium()
    if found is None:
        pytest.skip(
            "chromium not found (run `make test` as root to install Debian's chromium,"
            " or set CHROMIUM=/path/to/browser)"
        )
    return found
