"""``servicesync sync``: read every connection's streams and run the flows once."""

from __future__ import annotations

import asyncio
from typing import Annotated, NoReturn

import typer
from rich.table import Table

from servicesync.cli._app import console, err_console, installed_plugins
from servicesync.cli.commands.config import load_or_exit
from servicesync.engine import Engine, SyncReport
from servicesync.errors import ServiceSyncError
from servicesync.store import open_store


def register(app: typer.Typer) -> None:
    """Add the ``sync`` command to ``app``."""
    app.command("sync")(sync_command)


def sync_command(
    ctx: typer.Context,
    connection: Annotated[
        str | None,
        typer.Argument(help="The connection to sync [default: every enabled one]."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Read and compare, write nothing anywhere."),
    ] = False,
    full_refresh: Annotated[
        bool,
        typer.Option("--full-refresh", help="Read everything again, not only changes."),
    ] = False,
) -> None:
    """Sync the connections once, then deliver the events the sync produced."""
    config = load_or_exit(ctx)
    if connection is not None and connection not in config.connections:
        known = ", ".join(sorted(config.connections)) or "none"
        _fail(f"No connection named {connection!r} in the config (known: {known}).")
    try:
        store = open_store(config.store_url())
    except ServiceSyncError as exc:
        _fail(str(exc))
    engine = Engine(config, store, installed_plugins())

    async def run() -> SyncReport:
        try:
            return await engine.sync(
                connection, dry_run=dry_run, full_refresh=full_refresh
            )
        finally:
            await engine.aclose()

    try:
        report = asyncio.run(run())
    except ServiceSyncError as exc:
        _fail(str(exc))
    finally:
        store.close()
    console.print(_report_table(report, dry_run=dry_run))


def _report_table(report: SyncReport, *, dry_run: bool) -> Table:
    table = Table(title="Dry run: nothing was written" if dry_run else None)
    for column in ("stream", "read", "unchanged", "written", "quarantined", "events"):
        table.add_column(column, justify="left" if column == "stream" else "right")
    for name, counts in report.streams.items():
        written = len(counts.would_write) if dry_run else counts.written
        table.add_row(
            name,
            str(counts.read),
            str(counts.skipped_unchanged),
            str(written),
            str(counts.quarantined),
            str(counts.events),
        )
    if not dry_run:
        table.caption = f"{report.delivered} event deliveries made."
    return table


def _fail(message: str) -> NoReturn:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)
