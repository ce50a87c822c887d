"""The web page without Temporal: login, session cookie, CSRF, roles, escaping, headers.

Temporal is "down" (the gateway's connector raises), so pages read the run folders only
and anything that needs Temporal shows its one-line error.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from temporalio.client import Client

from volt_agent.api.app import create_app
from volt_agent.api.auth import Principal
from volt_agent.api.session import COOKIE_NAME, SessionSigner
from volt_agent.api.temporal import TemporalGateway
from volt_agent.api.ui_base import CSP
from volt_agent.config import ApiSettings, ApiToken, Settings
from volt_agent.errors import ConfigError
from volt_agent.storage.run_folder import RunFolder
from volt_agent.storage.run_metadata import RunMetadata

TOKENS = {
    "viewer": "viewer-token-0123456789",
    "operator": "operator-token-0123456789",
    "admin": "admin-token-0123456789abc",
}
RUN = "run_2026-11-23-07-00-00"
EVIL = "<script>alert('x')</script>"
REPORT_TEMPLATE = Path(__file__).parents[3] / "src/volt_agent/reporting/templates/report.html.j2"


def api_tokens() -> list[ApiToken]:
    return [
        ApiToken(name=f"{role}-user", role=role, token=SecretStr(token))  # type: ignore[arg-type]
        for role, token in TOKENS.items()
    ]


async def no_temporal() -> Client:
    raise ConfigError("Temporal at localhost:1 is not reachable: start it")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    folder = RunFolder(tmp_path / "runs", RUN)
    now = datetime(2026, 11, 23, 7, tzinfo=UTC)
    folder.save(
        "run_metadata.json",
        RunMetadata(
            run_id=RUN,
            workflow_id=f"toggl-fibery-{RUN}",
            created_at=now,
            updated_at=now,
            finished_at=now,
            status="completed",
            parameters={"start_date": "2026-11-16", "end_date": "2026-11-22", "users": [EVIL]},
            stages_completed=["toggl", "fibery"],
            warnings=[f"warning {EVIL}"],
            statistics={
                "aggregation": {
                    "users": 3,
                    "entries": 40,
                    "matched_entries": 30,
                    "unmatched_entries": 10,
                    "entities": 12,
                    "total_seconds": 36000,
                }
            },
        ),
    )
    folder.save_text("reports/team_summary.md", f"# Team {EVIL}\n")
    folder.save_text("reports/report.html", "<!DOCTYPE html><h1>Team time report</h1>")
    return Settings(
        output_dir=tmp_path / "runs",
        data_dir=tmp_path / "data",
        api=ApiSettings(tokens=api_tokens()),
    )


@pytest.fixture
def client(settings: Settings) -> TestClient:
    app = create_app(settings, gateway=TemporalGateway(settings, connector=no_temporal))
    return TestClient(app, follow_redirects=False)


def login(client: TestClient, role: str) -> None:
    answer = client.post("/ui/login", data={"token": TOKENS[role], "next": "/ui"})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/ui"


def csrf(client: TestClient, path: str = "/ui") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


def test_root_and_pages_redirect_to_login_without_a_session(client: TestClient) -> None:
    assert client.get("/").headers["location"] == "/ui"
    answer = client.get(f"/ui/runs/{RUN}")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/ui/login?next=%2Fui%2Fruns%2F{RUN}"
    assert client.post("/ui/start", data={}).headers["location"].startswith("/ui/login")


def test_wrong_token_is_refused_with_a_one_line_message(client: TestClient) -> None:
    answer = client.post("/ui/login", data={"token": "not-a-token-at-all-000", "next": "/ui"})
    assert answer.status_code == 401
    assert COOKIE_NAME not in answer.cookies
    assert "unknown token" in answer.text
    assert client.get("/ui").status_code == 303


def test_session_cookie_names_the_user_never_the_token(client: TestClient) -> None:
    answer = client.post("/ui/login", data={"token": TOKENS["admin"], "next": "/ui/schedules"})
    assert answer.headers["location"] == "/ui/schedules"
    header = answer.headers["set-cookie"]
    assert "HttpOnly" in header
    assert "SameSite=strict" in header.replace("Strict", "strict")
    assert "Path=/ui" in header
    assert "Secure" not in header  # plain http on the test client
    cookie = answer.cookies[COOKIE_NAME]
    for token in TOKENS.values():
        assert token not in cookie
        assert token not in header
    page = client.get("/ui")
    assert page.status_code == 200
    assert "admin-user (admin)" in page.text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/ui", "/uix", "/ui\\x"])
def test_login_never_redirects_off_the_page(client: TestClient, target: str) -> None:
    answer = client.post("/ui/login", data={"token": TOKENS["viewer"], "next": target})
    assert answer.headers["location"] == "/ui"


def test_a_forged_or_expired_cookie_is_no_session(settings: Settings) -> None:
    signer = SessionSigner(settings.api.tokens, clock=lambda: 1_000_000.0)
    cookie = signer.issue(Principal("admin-user", "admin"))
    assert signer.verify(cookie) == Principal("admin-user", "admin")
    body, mac = cookie.split(".")
    other = SessionSigner(settings.api.tokens, clock=lambda: 1_000_000.0)
    assert other.verify(cookie) is not None  # same tokens, another replica: accepted
    forged = cookie.replace(
        body, SessionSigner(api_tokens()[:1]).issue(Principal("x", "admin")).split(".")[0]
    )
    assert signer.verify(forged) is None
    assert signer.verify(f"{body}.{mac[:-2]}AA") is None
    assert signer.verify("garbage") is None
    later = SessionSigner(settings.api.tokens, clock=lambda: 1_000_000.0 + 9 * 3600)
    assert later.verify(cookie) is None
    rotated = [*settings.api.tokens[:2]]  # the admin token was revoked
    assert SessionSigner(rotated, clock=lambda: 1_000_000.0).verify(cookie) is None


def test_post_without_the_csrf_token_is_refused(client: TestClient) -> None:
    login(client, "operator")
    for data in ({"start_date": "2026-11-16", "end_date": "2026-11-22"}, {"csrf": "nope"}):
        answer = client.post("/ui/start", data=data)
        assert answer.status_code == 403
        assert "reload" in answer.text
    assert client.post(f"/ui/runs/{RUN}/cancel", data={}).status_code == 403
    assert client.post("/ui/logout", data={}).status_code == 403
    assert client.get("/ui").status_code == 200  # still logged in


def test_viewer_sees_no_buttons_and_is_refused_server_side(client: TestClient) -> None:
    login(client, "viewer")
    runs = client.get("/ui").text
    assert "Start a run" not in runs
    assert "Schedules" not in runs
    token = csrf(client)
    assert client.get("/ui/start").status_code == 403
    answer = client.post(
        "/ui/start", data={"csrf": token, "start_date": "2026-11-16", "end_date": "2026-11-22"}
    )
    assert answer.status_code == 403
    assert "needs operator" in answer.text
    assert client.post(f"/ui/runs/{RUN}/cancel", data={"csrf": token}).status_code == 403
    assert client.get("/ui/schedules").status_code == 403


def test_operator_sees_start_but_not_schedules(client: TestClient) -> None:
    login(client, "operator")
    runs = client.get("/ui").text
    assert 'href="/ui/start"' in runs
    assert 'href="/ui/schedules"' not in runs
    assert client.get("/ui/schedules").status_code == 403
    login(client, "admin")
    assert 'href="/ui/schedules"' in client.get("/ui").text


def test_run_data_is_escaped(client: TestClient) -> None:
    login(client, "viewer")
    for path in ("/ui", f"/ui/runs/{RUN}"):
        text = client.get(path).text
        assert EVIL not in text
        assert "&lt;script&gt;" in text
    report = client.get(f"/ui/runs/{RUN}/reports/team_summary.md")
    assert report.headers["content-type"] == "text/plain; charset=utf-8"  # shown, not rendered


def test_every_page_carries_report_html_csp(client: TestClient) -> None:
    meta = re.search(r'Content-Security-Policy" content="([^"]+)"', REPORT_TEMPLATE.read_text())
    assert meta is not None
    assert meta.group(1) == CSP
    assert client.get("/ui/login").headers["content-security-policy"] == CSP
    login(client, "admin")
    for path in ("/ui", f"/ui/runs/{RUN}", "/ui/start", f"/ui/runs/{RUN}/reports/report.html"):
        answer = client.get(path)
        assert answer.headers["content-security-policy"] == CSP, path
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert f'content="{CSP}"'.replace("'", "&#39;") in client.get("/ui").text
    assert "<script" not in client.get(f"/ui/runs/{RUN}").text


def test_list_and_run_pages_show_totals_and_reports(client: TestClient) -> None:
    login(client, "viewer")
    runs = client.get("/ui").text
    assert f'href="/ui/runs/{RUN}"' in runs
    assert "Temporal is not answering" in runs
    assert ">75 %<" in runs  # 30 of 40 entries matched
    assert ">10.0<" in runs  # 36,000 s
    page = client.get(f"/ui/runs/{RUN}").text
    assert 'http-equiv="refresh"' not in page  # completed: no refresh
    assert page.index("report.html") < page.index("team_summary.md")
    assert f'href="/ui/runs/{RUN}/reports/report.html"' in page
    html = client.get(f"/ui/runs/{RUN}/reports/report.html")
    assert html.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Team time report</h1>" in html.text


@pytest.mark.parametrize("path", ["../run_metadata.json", "..%2Frun_metadata.json", "nope.md"])
def test_reports_outside_the_folder_are_404(client: TestClient, path: str) -> None:
    login(client, "viewer")
    answer = client.get(f"/ui/runs/{RUN}/reports/{path}")
    assert answer.status_code == 404
    assert "workflow_id" not in answer.text  # the run's metadata is never served
    assert client.get("/ui/runs/..%2Fetc/reports/x.md").status_code == 404


def test_errors_are_one_line_on_the_page(client: TestClient) -> None:
    login(client, "operator")
    token = csrf(client, "/ui/start")
    bad = client.post(
        "/ui/start", data={"csrf": token, "start_date": "16.11.2026", "end_date": "x"}
    )
    assert bad.status_code == 422
    assert "is not a date: use YYYY-MM-DD" in bad.text
    assert 'value="16.11.2026"' in bad.text  # the form keeps what was typed
    exists = client.post(
        "/ui/start",
        data={"csrf": token, "start_date": "2026-11-16", "end_date": "2026-11-22", "run_id": RUN},
    )
    assert exists.status_code == 409
    assert "already exists" in exists.text
    down = client.post(
        "/ui/start", data={"csrf": token, "start_date": "2026-11-16", "end_date": "2026-11-22"}
    )
    assert down.status_code == 503
    assert "not reachable" in down.text
    assert "Traceback" not in down.text
    missing = client.get("/ui/runs/run_1999-01-01-00-00-00")
    assert missing.status_code == 404
    assert "no run" in missing.text


def test_logout_clears_the_session(client: TestClient) -> None:
    login(client, "viewer")
    answer = client.post("/ui/logout", data={"csrf": csrf(client)})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login"
    assert client.get("/ui").status_code == 303


def test_a_running_run_refreshes_and_offers_cancel_to_operators(
    client: TestClient, settings: Settings
) -> None:
    now = datetime(2026, 11, 30, 7, tzinfo=UTC)
    RunFolder(settings.output_dir, "running-1").save(
        "run_metadata.json",
        RunMetadata(
            run_id="running-1",
            workflow_id="toggl-fibery-running-1",
            created_at=now,
            updated_at=now,
            status="in_progress",
        ),
    )
    login(client, "viewer")
    page = client.get("/ui/runs/running-1").text
    assert '<meta http-equiv="refresh" content="3">' in page
    assert "Cancel this run" not in page
    login(client, "operator")
    page = client.get("/ui/runs/running-1").text
    assert 'action="/ui/runs/running-1/cancel"' in page
    answer = client.post("/ui/runs/running-1/cancel", data={"csrf": csrf(client)})
    assert answer.status_code == 503  # Temporal is down: said on the run's page
    assert "not reachable" in answer.text
    assert "Run running-1" in answer.text


def test_schedules_page_says_when_temporal_is_down(client: TestClient) -> None:
    login(client, "admin")
    page = client.get("/ui/schedules")
    assert page.status_code == 503
    assert "not reachable" in page.text
    token = csrf(client)
    assert client.post("/ui/schedules/weekly/explode", data={"csrf": token}).status_code == 404
    trigger = client.post("/ui/schedules/weekly/trigger", data={"csrf": token})
    assert trigger.status_code == 503
    assert "not reachable" in trigger.text
