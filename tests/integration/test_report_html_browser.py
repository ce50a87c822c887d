"""``report.html`` in a real browser: headless Debian ``chromium`` renders it offline.

``make test`` installs ``chromium`` when it is missing and it runs as root; without a
browser this test is skipped, saying so.
"""

from __future__ import annotations

import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.unit.reporting.fixtures import ENTITIES, ENTRIES, enriched, entry
from volt_agent.domain.models import EnrichedEntity
from volt_agent.reporting.html import render_html_report

pytestmark = pytest.mark.integration

EVIL = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"


def chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - a fixed local browser binary, arguments built here
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.svg: str | None = None
        self.rects: dict[str, int] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "svg":
            self.svg = attributes.get("id")
            self.rects[self.svg or ""] = 0
        elif tag in ("rect", "circle") and self.svg:
            self.rects[self.svg] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.svg = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    entries = [*ENTRIES, entry(99, 30, f"{EVIL} #4242 [Scrum] [Task] [Core]", 7200, 30)]
    evil = EnrichedEntity(type_key="Scrum/Task", public_id="4242", status="found", name=EVIL)
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_html_report(enriched(entries, [*ENTITIES, evil])), encoding="utf-8")
    return path


def test_chromium_renders_every_chart(browser_path: str, report: Path, tmp_path: Path) -> None:
    result = chromium(browser_path, tmp_path / "profile", "--dump-dom", report.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    dom = Dom()
    dom.feed(result.stdout)
    assert dom.rects == {
        "chart-people": 3 * 2,  # three people, matched + unmatched
        "chart-share": 2,  # the ring and its matched arc
        "chart-types": 5,  # four entity types + time without a reference
        "chart-entities": 6,
        "chart-days": 3 * 2,  # three days, matched + unmatched
    }
    tags = [t for t, _ in dom.tags]
    assert "script" not in tags
    assert "img" not in tags
    text = "".join(dom.text)
    assert EVIL in text  # shown as text, never run
    assert "Team time report" in text


def test_chromium_screenshot_is_drawn(browser_path: str, report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    result = chromium(
        browser_path,
        tmp_path / "profile",
        "--window-size=1100,1600",
        f"--screenshot={shot}",
        report.as_uri(),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1100, 1600)
    assert len(data) > 20_000  # charts and text, not a blank page
