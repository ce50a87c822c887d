"""The web page in headless Debian ``chromium``, driven by Playwright (no Playwright browsers):
log in → the runs list shows a finished run → open it → open its report.html → start a run
from the form → watch its page refresh until it completes → find it in the list.

The API runs in uvicorn on a free loopback port against the session's Temporal dev server,
with a real worker and the sandbox simulators (``pipeline_env``). Without chromium the test
is skipped, saying so (``make test`` installs it when run as root).
"""

from __future__ import annotations

import contextlib
import re
import uuid
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from tests.integration.pipeline_env import WEEK, pipeline_env
from volt_agent.api.app import create_app
from volt_agent.api.ui_base import CSP
from volt_agent.config import ApiSettings, ApiToken, Settings
from volt_agent.pipeline.devserver import DevServer
from volt_agent.pipeline.service import prepare_run, start_run
from volt_agent.sandbox.server import ServedApp
from volt_agent.schedules import service as schedules

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

playwright_api = pytest.importorskip("playwright.async_api")

OPERATOR = "operator-token-0123456789"
COMPLETION_MS = 120_000
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


async def test_list_run_report_start_and_watch_in_chromium(
    browser_path: str, temporal_dev_server: DevServer, temporal_client: Client, tmp_path: Path
) -> None:
    expect = playwright_api.expect
    new_run = f"ui-{uuid.uuid4().hex[:10]}"
    async with pipeline_env(temporal_client, tmp_path) as env:
        _, finished = await env.run()
        assert finished.status == "completed"
        settings = env.settings.model_copy(
            update={
                "temporal": temporal_dev_server.settings().model_copy(
                    update={"task_queue": env.settings.temporal.task_queue}
                ),
                "api": ApiSettings(
                    tokens=[ApiToken(name="ops", role="operator", token=SecretStr(OPERATOR))]
                ),
            }
        )
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=browser_path, args=BROWSER_ARGS)
            try:
                with ServedApp(create_app(settings)) as served:
                    page = await browser.new_page()
                    page.set_default_timeout(30_000)

                    await page.goto(f"{served.base_url}/")
                    await expect(page).to_have_url(re.compile(r"/ui/login\?next="))
                    await page.fill("#token", OPERATOR)
                    await page.click("button[type=submit]")
                    await expect(page).to_have_url(f"{served.base_url}/ui")
                    await expect(page.locator("header .who")).to_have_text("ops (operator)")

                    row = page.locator("#runs tbody tr", has_text=finished.run_id)
                    await expect(row.locator(".status")).to_have_text("completed")
                    await row.get_by_role("link", name=finished.run_id).click()
                    await expect(page.locator("h1")).to_have_text(f"Run {finished.run_id}")
                    await expect(page.locator("#run-status")).to_have_text("completed")
                    assert await page.locator("meta[http-equiv=refresh]").count() == 0

                    async with page.expect_response(re.compile(r"/reports/report\.html$")) as got:
                        await page.locator("#reports a", has_text="report.html").click()
                    response = await got.value
                    assert response.status == 200
                    assert response.headers["content-security-policy"] == CSP
                    await expect(page.locator("h1").first).to_contain_text("Team time report")
                    assert await page.locator("script").count() == 0

                    await page.goto(f"{served.base_url}/ui")
                    await page.get_by_role("link", name="Start a run").first.click()
                    await page.fill("#start_date", WEEK[0])
                    await page.fill("#end_date", WEEK[1])
                    await page.fill("#run_id", new_run)
                    await page.click("#start-form button[type=submit]")
                    await expect(page).to_have_url(f"{served.base_url}/ui/runs/{new_run}")
                    first_status = await page.locator("#run-status").inner_text()
                    if first_status == "in_progress":  # still going: the page refreshes itself
                        refresh = page.locator("meta[http-equiv=refresh]")
                        assert await refresh.get_attribute("content") == "3"
                    await expect(page.locator("#run-status")).to_have_text(
                        "completed", timeout=COMPLETION_MS
                    )
                    await expect(page.locator("#reports")).to_contain_text("report.html")
                    assert await page.locator("meta[http-equiv=refresh]").count() == 0

                    await page.get_by_role("link", name="All runs").click()
                    new_row = page.locator("#runs tbody tr", has_text=new_run)
                    await expect(new_row.locator(".status")).to_have_text("completed")
                    assert await page.locator("#runs tbody tr").count() == 2
            finally:
                await browser.close()


async def test_admin_deletes_a_schedule_and_cancels_a_run(
    temporal_dev_server: DevServer, temporal_client: Client, tmp_path: Path
) -> None:
    """The schedules page and the cancel button against the real dev server (plain HTTP:
    no browser needed)."""
    admin = "admin-token-0123456789abc"
    settings = Settings(
        output_dir=tmp_path / "runs",
        data_dir=tmp_path / "data",
        temporal=temporal_dev_server.settings().model_copy(
            update={"task_queue": f"ui-{uuid.uuid4()}"}
        ),
        api=ApiSettings(tokens=[ApiToken(name="boss", role="admin", token=SecretStr(admin))]),
    )
    name = f"ui-{uuid.uuid4().hex[:10]}"
    await schedules.create_schedule(
        temporal_client, settings, name=name, cron="0 7 * * MON", window="last-week", paused=True
    )
    try:
        with ServedApp(create_app(settings)) as served:
            async with httpx.AsyncClient(base_url=served.base_url, timeout=30) as http:
                await http.post("/ui/login", data={"token": admin, "next": "/ui/schedules"})
                page = await http.get("/ui/schedules")
                assert page.status_code == 200
                assert name in page.text
                assert "paused" in page.text
                found = re.search(r'name="csrf" value="([^"]+)"', page.text)
                assert found is not None
                deleted = await http.post(
                    f"/ui/schedules/{name}/delete", data={"csrf": found.group(1)}
                )
                assert deleted.status_code == 303
                assert name not in (await http.get("/ui/schedules")).text
                again = await http.post(
                    f"/ui/schedules/{name}/delete", data={"csrf": found.group(1)}
                )
                assert again.status_code == 404
                assert name in again.text  # "no schedule …": one line on the page

                params = prepare_run(settings, start_date=WEEK[0], end_date=WEEK[1])
                handle = await start_run(temporal_client, params, settings.temporal.task_queue)
                cancel = f"/ui/runs/{params.run_id}/cancel"  # no worker: the run stays running
                cancelled = await http.post(cancel, data={"csrf": found.group(1)})
                assert cancelled.status_code == 303
                kinds = [e.event_type async for e in handle.fetch_history_events()]
                assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED in kinds
                await handle.terminate("test done")
                ended = await http.post(cancel, data={"csrf": found.group(1)})
                assert ended.status_code == 409
                assert "is not running" in ended.text
    finally:
        with contextlib.suppress(Exception):
            await schedules.delete_schedule(temporal_client, name)
