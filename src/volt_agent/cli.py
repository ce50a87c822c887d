"""``volt-agent`` command line: a thin shell over the service functions.

Domain errors become one-line messages and exit code 2 here, and only here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from volt_agent import cli_ops
from volt_agent.cli_support import (
    ConfigOption,
    OutputDirOption,
    RecordOption,
    console,
    fail,
    run_and_exit,
    run_async,
    settings_from,
)
from volt_agent.config import load_secrets
from volt_agent.errors import VoltAgentError
from volt_agent.pipeline.devserver import (
    dev_server_status,
    ensure_dev_server,
    port_owner,
    stop_dev_server,
    unusable_message,
)
from volt_agent.runner import run_pipeline, run_worker
from volt_agent.runner import show_run as show_run_service

if TYPE_CHECKING:
    from volt_agent.doctor import Check

# ``doctor``, ``demo`` and ``sandbox`` import their modules when they run: those pull in the
# LLM client and the simulators' web framework, a second of start-up ``volt-agent run`` and
# ``worker`` do without.

app = typer.Typer(
    name="volt-agent",
    help="Weekly Toggl Track + Fibery work reports, run as a durable Temporal workflow.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
server_app = typer.Typer(
    help="The embedded Temporal dev server (used when TEMPORAL_ADDRESS is unset)."
)
sandbox_app = typer.Typer(help="The simulated Toggl + Fibery workspace for demos and tests.")
app.add_typer(server_app, name="server")
app.add_typer(sandbox_app, name="sandbox")


@app.command()
def run(
    start_date: Annotated[str, typer.Option(help="First day, YYYY-MM-DD (inclusive).")],
    end_date: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD (inclusive).")],
    users: Annotated[
        str | None, typer.Option(help="Comma-separated Toggl emails; default: everyone.")
    ] = None,
    start_from: Annotated[
        str, typer.Option(help="toggl (everything) or fibery (re-run enrichment + reports).")
    ] = "toggl",
    run_id: Annotated[
        str | None, typer.Option(help="Run id; required with --start-from fibery.")
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option(help="Where run folders go (default: output_dir in config).")
    ] = None,
    config: ConfigOption = None,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Don't run an in-process worker; use running ones.")
    ] = False,
    detach: Annotated[
        bool, typer.Option("--detach", help="Start the run and return without following it.")
    ] = False,
    record: RecordOption = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Start from Toggl even if --run-id names an existing run (wipes it)."
        ),
    ] = False,
    deliver: Annotated[
        str | None,
        typer.Option(
            help="Deliver the reports at the end: email,webhook,fibery (see delivery: config)."
        ),
    ] = None,
) -> None:
    """Fetch Toggl entries, enrich Fibery entities and write reports for a date range."""
    if start_from not in ("toggl", "fibery"):
        fail(f"--start-from must be toggl or fibery, not {start_from!r}")
    settings = settings_from(config)
    code = run_async(
        run_pipeline(
            settings,
            load_secrets(),
            console,
            start_date=start_date,
            end_date=end_date,
            users=users,
            start_from="fibery" if start_from == "fibery" else "toggl",
            run_id=run_id,
            output_dir=output_dir,
            in_process_worker=not no_worker,
            follow_progress=not detach,
            record_dir=record,
            force=force,
            config_path=config,
            deliver=deliver,
        )
    )
    raise typer.Exit(code)


CHECK_STYLE = {"ok": "green", "warning": "yellow", "error": "bold red", "skip": "dim"}


def print_check(check: Check) -> None:
    """One doctor line: the status in colour, the rest as plain text (no markup)."""
    status = Text(f"{check.status:<7}", style=CHECK_STYLE[check.status])
    console.print(status, Text(f"{check.name}: {check.message}"), highlight=False)


@app.command()
def doctor(
    config: ConfigOption = None,
    output_dir: OutputDirOption = None,
    record: RecordOption = None,
) -> None:
    """Check tokens, workspace access, Fibery schema vs config, Temporal and the output folder.

    One line per check; exit code 1 when any check is an error. Costs at most 4 Toggl
    requests and one Fibery request.
    """
    from volt_agent.doctor import exit_code as doctor_exit_code  # noqa: PLC0415
    from volt_agent.doctor import run_doctor  # noqa: PLC0415

    settings = settings_from(config, output_dir)
    checks = run_async(run_doctor(settings, load_secrets(), record_dir=record))
    for check in checks:
        print_check(check)
    raise typer.Exit(doctor_exit_code(checks))


@app.command()
def worker(
    config: ConfigOption = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Prometheus metrics port (default: metrics.port); 0 turns them off."),
    ] = None,
    loop_probe: Annotated[
        Path | None,
        typer.Option(hidden=True, help="Write the event loop's slow callbacks to this JSON file."),
    ] = None,
) -> None:
    """Run a worker for the pipeline's task queue until interrupted; serves /metrics."""
    settings = settings_from(config)
    if metrics_port is not None:
        metrics = settings.metrics.model_copy(
            update={"enabled": metrics_port > 0, "port": metrics_port or settings.metrics.port}
        )
        settings = settings.model_copy(update={"metrics": metrics})
    try:
        run_async(run_worker(settings, load_secrets(), console, loop_probe=loop_probe))
    except KeyboardInterrupt:
        console.print("worker stopped")


@app.command()
def demo(
    users: Annotated[int, typer.Option(help="Simulated team size.")] = 12,
    days: Annotated[int, typer.Option(help="Days of simulated time entries.")] = 7,
    seed: Annotated[int, typer.Option(help="Seed of the simulated workspace.")] = 42,
    week: Annotated[
        int,
        typer.Option(
            help="Which period of --days to run (2: the one after week 1, compared with it)."
        ),
    ] = 1,
    output_dir: Annotated[Path | None, typer.Option(help="Where the run folder goes.")] = None,
    config: ConfigOption = None,
) -> None:
    """Run the whole pipeline against the built-in simulated Toggl + Fibery workspace."""
    from volt_agent.demo import run_demo  # noqa: PLC0415

    settings = settings_from(config)
    if output_dir is not None:
        settings = settings.model_copy(update={"output_dir": output_dir})
    raise typer.Exit(
        run_async(run_demo(settings, console, users=users, days=days, seed=seed, week=week))
    )


@app.command("show-run")
def show_run(
    run_id: Annotated[str, typer.Argument(help="The run to show.")],
    follow: Annotated[bool, typer.Option("--follow", help="Follow live progress.")] = False,
    output_dir: Annotated[Path | None, typer.Option(help="Where run folders are.")] = None,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="With --follow: don't run a worker here.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Show a run's status, statistics and reports; --follow re-attaches to a live run."""
    settings = settings_from(config, output_dir)
    if not follow:
        raise typer.Exit(run_async(cli_ops.show_run_once(settings, run_id)))
    raise typer.Exit(
        run_async(
            show_run_service(
                settings,
                load_secrets(),
                console,
                run_id,
                follow=follow,
                in_process_worker=not no_worker,
            )
        )
    )


@server_app.command("start")
def server_start(config: ConfigOption = None) -> None:
    """Start the embedded Temporal dev server (or report the one already running)."""
    settings = settings_from(config)
    if settings.temporal.address:
        fail(f"TEMPORAL_ADDRESS is set ({settings.temporal.address}): nothing to start")
    try:
        info = ensure_dev_server(settings.temporal, settings.data_dir)
    except VoltAgentError as exc:
        fail(str(exc))
    state = "started" if info.started else "already running"
    console.print(f"Temporal dev server {state} at {info.address}; UI {info.ui_url}")
    console.print("Stop it with: volt-agent server stop")


@server_app.command("stop")
def server_stop(config: ConfigOption = None) -> None:
    """Stop the embedded Temporal dev server started by volt-agent."""
    settings = settings_from(config)
    port = settings.temporal.dev_server_port
    if stop_dev_server(settings.data_dir, port=port):
        console.print("Temporal dev server stopped")
        return
    console.print("no embedded Temporal dev server started by this checkout is running")
    owner = port_owner(port, settings.data_dir)
    if owner is not None:
        console.print(
            f"127.0.0.1:{port} is served by a dev server of another checkout"
            f" ({owner.describe()}): stop it with `kill {owner.pid}` if it is yours",
            highlight=False,
        )


@server_app.command("status")
def server_status(config: ConfigOption = None) -> None:
    """Say whether the Temporal server is running, and where."""
    settings = settings_from(config)
    status = dev_server_status(settings.temporal, settings.data_dir)
    kind = "embedded dev server" if status.embedded else "external server"
    owner = status.owner
    if not status.running:
        console.print(f"{kind} at {status.address}: not running")
        raise typer.Exit(1)
    if owner is not None and not owner.ours:
        console.print(
            f"{kind} at {status.address}: running, started by another checkout or by hand"
            f" ({owner.describe()})",
            highlight=False,
        )
        console.print(f"command: {' '.join(owner.argv)}", highlight=False)
    elif status.embedded and owner is None and status.pid is None:
        console.print(
            f"{kind} at {status.address}: a Temporal server answers, but no"
            " `temporal server start-dev` process of this machine serves it (another kind of"
            " server, or one this user cannot see)"
        )
    else:
        pid = status.pid or (owner.pid if owner else None)
        console.print(f"{kind} at {status.address}: running" + (f" (pid {pid})" if pid else ""))
        if status.db_path:
            console.print(f"history: {status.db_path}", highlight=False)
        if status.log_path:
            console.print(f"log: {status.log_path}", highlight=False)
    if status.ui_url:
        console.print(f"UI: {status.ui_url}")
    if status.embedded and not status.usable:
        console.print(unusable_message(status.address, owner), highlight=False)
        raise typer.Exit(1)


@sandbox_app.command("serve")
def sandbox_serve(
    users: Annotated[int, typer.Option(help="Simulated team size.")] = 12,
    days: Annotated[int, typer.Option(help="Days of simulated time entries.")] = 7,
    seed: Annotated[int, typer.Option(help="Seed of the simulated workspace.")] = 42,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    toggl_port: Annotated[int, typer.Option(help="Toggl simulator port (0 = any free).")] = 8765,
    fibery_port: Annotated[int, typer.Option(help="Fibery simulator port (0 = any free).")] = 8766,
) -> None:
    """Serve the simulated Toggl and Fibery APIs and print their URLs and tokens."""
    from volt_agent.sandbox import WorkspaceSpec, serve_sandbox  # noqa: PLC0415

    try:
        serve_sandbox(
            WorkspaceSpec(users=users, days=days, seed=seed),
            host=host,
            toggl_port=toggl_port,
            fibery_port=fibery_port,
            print_fn=console.print,
        )
    except KeyboardInterrupt:
        console.print("sandbox stopped")


cli_ops.register(app)


def main() -> None:
    run_and_exit(app)


if __name__ == "__main__":
    main()
