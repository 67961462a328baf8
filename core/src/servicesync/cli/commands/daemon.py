"""``servicesync daemon``: sync on schedules and webhooks until stopped."""

from __future__ import annotations

import asyncio
from typing import Annotated, NoReturn

import typer

from servicesync.cli._app import err_console, installed_plugins
from servicesync.cli.commands.config import load_or_exit
from servicesync.errors import ServiceSyncError
from servicesync.store import open_store


def register(app: typer.Typer) -> None:
    """Add the ``daemon`` command to ``app``."""
    app.command("daemon")(daemon_command)


def daemon_command(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option("--host", help="Address to listen on (default: daemon.host)."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", help="Port to listen on (default: daemon.port)."),
    ] = None,
) -> None:
    """Run every connection on its schedule and on its webhooks, until SIGTERM.

    Serves POST /webhooks/CONNECTION, GET /health and GET /metrics. On
    PostgreSQL, any number of daemons share the work; on SQLite, run one.
    """
    from servicesync.daemon import Daemon

    config = load_or_exit(ctx)
    if host is not None:
        config.daemon.host = host
    if port is not None:
        config.daemon.port = port
    try:
        store = open_store(config.store_url())
    except ServiceSyncError as exc:
        _fail(str(exc))

    async def run() -> None:
        await Daemon(config, store, installed_plugins()).run()

    try:
        asyncio.run(run())
    except (ServiceSyncError, OSError) as exc:
        _fail(str(exc))
    finally:
        store.close()


def _fail(message: str) -> NoReturn:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)
