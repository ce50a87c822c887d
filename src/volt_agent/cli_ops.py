"""Operating commands: ``list-runs``, ``show-run`` (without ``--follow``), ``cancel-run``,
``temporal-ui``, ``schedule create|list|delete|trigger`` and ``serve``.

Thin shells over ``volt_agent.runs``, ``volt_agent.schedules.service`` and the API factory.
"""

from __future__ import annotations

import asyncio
import webbrowser
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text
from temporalio.client import Client

from volt_agent.cli_support import (
    ConfigOption,
    OutputDirOption,
    console,
    err_console,
    fail,
    run_async,
    settings_from,
)
from volt_agent.config import Settings
from volt_agent.errors import ConfigError, UserInputError
from volt_agent.pipeline.client import connect
from volt_agent.pipeline.service import workflow_id_for
from volt_agent.runner import print_summary, workflow_url
from volt_agent.runs import (
    RUN_STATUSES,
    RunDetail,
    RunSummary,
    cancel_run,
    get_run,
    list_runs,
    run_ids,
)
from volt_agent.schedules import service as schedules
from volt_agent.schedules.windows import WINDOWS
from volt_agent.storage.backends import open_storage
from volt_agent.storage.run_folder import open_run_folder, validate_run_id
from volt_agent.storage.run_metadata import load_metadata

STATUS_STYLE = {"completed": "green", "failed": "red", "cancelled": "yellow"}

schedule_app = typer.Typer(help="Scheduled runs on Temporal Schedules (cron + date window).")


def register(app: typer.Typer) -> None:
    app.command("list-runs")(list_runs_command)
    app.command("cancel-run")(cancel_run_command)
    app.command("temporal-ui")(temporal_ui)
    app.command("serve")(serve)
    app.add_typer(schedule_app, name="schedule")


async def _optional_client(settings: Settings) -> Client | None:
    try:
        client, _ = await connect(settings.temporal, settings.data_dir, start_server=False)
    except ConfigError as exc:
        err_console.print(f"[yellow]note:[/] {exc}; statuses are as the run folders say")
        return None
    return client


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def _status(summary: RunSummary) -> str:
    text = f"[{STATUS_STYLE.get(summary.status, 'cyan')}]{summary.status}[/]"
    if summary.folder_status and summary.folder_status != summary.status:
        text += f" [dim](folder: {summary.folder_status})[/]"
    return text


def _stages(summary: RunSummary) -> str:
    done = [f"[green]{s}[/]" for s in summary.stages_completed]
    failed = [f"[red]{s}✗[/]" for s in summary.stages_failed]
    return " ".join(done + failed) or "—"


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """A rich table on a terminal; tab-separated lines (markup removed) for pipes and scripts,
    so no cell is ever cut short."""
    if console.is_terminal:
        table = Table(*headers)
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    typer.echo("\t".join(headers))  # plain echo: rich would expand the tabs
    for row in rows:
        typer.echo("\t".join(Text.from_markup(cell).plain for cell in row))


def list_runs_command(
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many runs.")] = 20,
    status: Annotated[
        str | None, typer.Option(help="Only runs with this status: " + "|".join(RUN_STATUSES))
    ] = None,
    output_dir: OutputDirOption = None,
    config: ConfigOption = None,
) -> None:
    """List runs, newest first, with status reconciled with Temporal when it answers."""
    if status is not None and status not in RUN_STATUSES:
        fail(f"--status must be one of {', '.join(RUN_STATUSES)}, not {status!r}")
    settings = settings_from(config, output_dir)

    async def go() -> list[RunSummary]:
        client = await _optional_client(settings) if run_ids(settings) else None
        return await list_runs(settings, client, limit=limit, status=status)

    runs = run_async(go())
    if not runs:
        where = open_storage(settings).location()
        console.print(f"no runs in {where}" + (f" with status {status}" if status else ""))
        return
    rows = []
    for run in runs:
        params = run.parameters
        rows.append(
            [
                run.run_id,
                _status(run),
                _when(run.created_at),
                _duration(run.duration_seconds),
                f"{params.get('start_date', '?')}..{params.get('end_date', '?')}",
                _stages(run),
                str(len(run.warnings)) if run.warnings else "",
            ]
        )
    print_table(
        ["run id", "status", "created (UTC)", "duration", "range", "stages", "warnings"], rows
    )
    if not any(r.reconciled for r in runs):
        console.print("[dim]not reconciled with Temporal (not reachable)[/]")


async def show_run_once(settings: Settings, run_id: str) -> int:
    """``show-run`` without ``--follow``: the reconciled status, summary, reports, progress."""
    client = await _optional_client(settings)
    detail: RunDetail = await get_run(settings, client, run_id)
    folder = open_run_folder(settings, run_id)
    meta = await asyncio.to_thread(load_metadata, folder)
    if meta is not None:
        meta = meta.model_copy(update={"status": detail.status, "error": detail.error})
        print_summary(console, folder, meta)
    else:
        console.print(f"Run [cyan]{run_id}[/]: {_status(detail)} (no run folder yet)")
    if detail.folder_status and detail.folder_status != detail.status:
        console.print(
            f"[dim]run_metadata.json says {detail.folder_status}; Temporal says"
            f" {detail.temporal_status}[/]"
        )
    params = detail.parameters
    if params:
        console.print(
            f"range {params.get('start_date')}..{params.get('end_date')}"
            f" · users {', '.join(params.get('users') or []) or 'all'}"
            f" · created {_when(detail.created_at)} UTC"
            f" · duration {_duration(detail.duration_seconds)}"
        )
    if detail.progress is not None:
        p = detail.progress
        console.print(
            f"progress: {p.percentage:.0f}% · {p.current_stage} / {p.current_activity}"
            f" ({p.activity_index}/{p.activities_total}) — follow with --follow"
        )
    if meta is not None and meta.statistics:
        console.print_json(data=meta.statistics)
    ui = _ui_base(settings)
    if ui:
        console.print(
            f"Temporal UI: {workflow_url(ui, settings, detail.workflow_id)}", highlight=False
        )
    return 0


def cancel_run_command(
    run_id: Annotated[str, typer.Argument(help="The run to cancel.")],
    output_dir: OutputDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Cancel a running run; it records 'cancelled' in its run_metadata.json."""
    settings = settings_from(config, output_dir)

    async def go() -> RunSummary:
        client, _ = await connect(settings.temporal, settings.data_dir, start_server=False)
        return await cancel_run(settings, client, run_id)

    summary = run_async(go())
    console.print(f"cancellation of run {run_id} requested (workflow {summary.workflow_id})")
    console.print(
        f"[dim]a worker must be running to record it; check with: volt-agent show-run {run_id}[/]"
    )


def _ui_base(settings: Settings) -> str | None:
    if settings.temporal.ui_url:
        return settings.temporal.ui_url
    if settings.temporal.address:
        return None
    return f"http://127.0.0.1:{settings.temporal.dev_server_ui_port}"


def temporal_ui(
    run_id: Annotated[str | None, typer.Option(help="Link to this run's workflow.")] = None,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Also open it in a web browser.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Print (or --open) the Temporal Web UI URL, of one run's workflow with --run-id."""
    settings = settings_from(config)
    base = _ui_base(settings)
    if base is None:
        fail("TEMPORAL_ADDRESS is set but not TEMPORAL_UI_URL: set it to your Temporal UI")
    if run_id is not None:
        try:
            workflow_id = workflow_id_for(validate_run_id(run_id))
        except UserInputError as exc:
            fail(str(exc))
        url = workflow_url(base, settings, workflow_id)
    else:
        url = f"{base.rstrip('/')}/namespaces/{settings.temporal.namespace}/workflows"
    console.print(url, highlight=False, soft_wrap=True)
    if open_browser and not webbrowser.open(url):
        err_console.print("[yellow]note:[/] no browser could be opened; use the URL above")


@schedule_app.command("create")
def schedule_create(
    name: Annotated[str, typer.Argument(help="Schedule name: letters, digits, '_', '-'.")],
    cron: Annotated[str, typer.Option(help="Cron expression, e.g. '0 7 * * MON'.")],
    window: Annotated[str, typer.Option(help="Dates each run covers: " + "|".join(WINDOWS))],
    users: Annotated[
        str | None, typer.Option(help="Comma-separated Toggl emails; default: everyone.")
    ] = None,
    timezone: Annotated[
        str, typer.Option(help="IANA time zone of the cron and of 'today'.")
    ] = "UTC",
    paused: Annotated[bool, typer.Option("--paused", help="Create it paused.")] = False,
    deliver: Annotated[
        str | None,
        typer.Option(
            help="Deliver each run's reports: email,webhook,fibery (see delivery: config)."
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Create a schedule; each firing computes its dates and gets its own run id."""
    settings = settings_from(config)

    async def go() -> schedules.ScheduleSummary:
        client, _ = await connect(settings.temporal, settings.data_dir)
        return await schedules.create_schedule(
            client,
            settings,
            name=name,
            cron=cron,
            window=window,
            users=users,
            timezone=timezone,
            paused=paused,
            deliver=deliver,
        )

    created = run_async(go())
    nxt = _when(created.next_runs[0]) + " UTC" if created.next_runs else "— (paused)"
    console.print(
        f"schedule [cyan]{name}[/] created: {cron} ({timezone}), window {window}; next run {nxt}"
    )
    console.print("[dim]runs need a worker: volt-agent worker[/]")


@schedule_app.command("list")
def schedule_list(config: ConfigOption = None) -> None:
    """List schedules with their next and last firing."""
    settings = settings_from(config)

    async def go() -> list[schedules.ScheduleSummary]:
        client, _ = await connect(settings.temporal, settings.data_dir, start_server=False)
        return await schedules.list_schedules(client)

    found = run_async(go())
    if not found:
        console.print("no schedules")
        return
    headers = ["name", "cron", "time zone", "window", "users", "state", "next run (UTC)"]
    rows = [
        [
            item.name,
            item.cron,
            item.timezone,
            item.window,
            ", ".join(item.users) if item.users else "all",
            "paused" if item.paused else "active",
            _when(item.next_runs[0]) if item.next_runs else "—",
            _when(item.recent_runs[-1].started_at) if item.recent_runs else "—",
        ]
        for item in found
    ]
    print_table([*headers, "last run (UTC)"], rows)


@schedule_app.command("delete")
def schedule_delete(
    name: Annotated[str, typer.Argument(help="The schedule to delete.")],
    config: ConfigOption = None,
) -> None:
    """Delete a schedule (runs it already started go on)."""
    settings = settings_from(config)

    async def go() -> None:
        client, _ = await connect(settings.temporal, settings.data_dir, start_server=False)
        await schedules.delete_schedule(client, name)

    run_async(go())
    console.print(f"schedule {name} deleted")


@schedule_app.command("trigger")
def schedule_trigger(
    name: Annotated[str, typer.Argument(help="The schedule to fire now.")],
    config: ConfigOption = None,
) -> None:
    """Fire a schedule now, as if its time had come."""
    settings = settings_from(config)

    async def go() -> None:
        client, _ = await connect(settings.temporal, settings.data_dir, start_server=False)
        await schedules.trigger_schedule(client, name)

    run_async(go())
    console.print(f"schedule {name} triggered; see volt-agent list-runs")


def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default: api.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: api.port).")] = None,
    output_dir: OutputDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Serve the HTTP management API and the web page for runs (/ui), with bearer tokens from
    VOLT_AGENT_API_TOKENS (the page logs in with one of them)."""
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    from volt_agent.api.app import create_app  # noqa: PLC0415

    settings = settings_from(config, output_dir)
    api = settings.api.model_copy(
        update={"host": host or settings.api.host, "port": port or settings.api.port}
    )
    if not api.tokens:
        fail("no API tokens: set VOLT_AGENT_API_TOKENS (role:token, comma-separated)")
    roles = ", ".join(sorted({t.role for t in api.tokens}))
    base = f"http://{api.host}:{api.port}"
    console.print(f"API on {base} (OpenAPI: /openapi.json; roles: {roles}); web page: {base}/ui")
    uvicorn.run(create_app(settings), host=api.host, port=api.port, log_level="info")
