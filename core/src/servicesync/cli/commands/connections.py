"""``servicesync connections``: see the connections, pause them, make them read-only.

The switches live in the store, so every daemon on the same database obeys
them at its next run, without a restart.
"""

from __future__ import annotations

import json
from typing import Annotated, NoReturn

import typer
from rich.table import Table

from servicesync.cli._app import console, err_console
from servicesync.cli.commands.config import load_or_exit
from servicesync.config import Config
from servicesync.errors import ServiceSyncError
from servicesync.store import Control, Store, open_store

connections_app = typer.Typer(
    help="List connections; pause, resume, or make them read-only.",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(help="The connection's name.")]
NoteOption = Annotated[
    str | None, typer.Option("--note", help="Why, for whoever looks next.")
]


def register(app: typer.Typer) -> None:
    """Add the ``connections`` group to ``app``."""
    app.add_typer(connections_app, name="connections")


@connections_app.command("list")
def list_command(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show each connection: plugin, schedule, paused, read-only."""
    config = load_or_exit(ctx)
    store = _open(config)
    try:
        controls = {c.connection: c for c in store.controls()}
    finally:
        store.close()
    rows = [
        {
            "connection": name,
            "plugin": settings.plugin,
            "enabled": settings.enabled,
            "schedule": settings.schedule.as_cron(),
            "paused": controls.get(name, Control(name)).paused,
            "read_only": settings.read_only
            or controls.get(name, Control(name)).read_only,
            "note": controls.get(name, Control(name)).note,
        }
        for name, settings in config.connections.items()
    ]
    if json_output:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table()
    for column in ("connection", "plugin", "schedule", "state", "note"):
        table.add_column(column)
    for row in rows:
        state = [
            word
            for word, on in (
                ("disabled", not row["enabled"]),
                ("paused", row["paused"]),
                ("read-only", row["read_only"]),
            )
            if on
        ]
        table.add_row(
            str(row["connection"]),
            str(row["plugin"]),
            str(row["schedule"] or "-"),
            ", ".join(state) or "active",
            str(row["note"] or ""),
        )
    console.print(table)


@connections_app.command("pause")
def pause_command(
    ctx: typer.Context, name: NameArgument, note: NoteOption = None
) -> None:
    """Stop syncing a connection until it is resumed."""
    _switch(ctx, name, note, paused=True)


@connections_app.command("resume")
def resume_command(
    ctx: typer.Context, name: NameArgument, note: NoteOption = None
) -> None:
    """Sync a paused connection again."""
    _switch(ctx, name, note, paused=False)


@connections_app.command("read-only")
def read_only_command(
    ctx: typer.Context, name: NameArgument, note: NoteOption = None
) -> None:
    """Keep reading a connection but write nothing to it; flows wait."""
    _switch(ctx, name, note, read_only=True)


@connections_app.command("writable")
def writable_command(
    ctx: typer.Context, name: NameArgument, note: NoteOption = None
) -> None:
    """Let servicesync write to a connection again; waiting flows resume."""
    _switch(ctx, name, note, read_only=False)


def _switch(
    ctx: typer.Context,
    name: str,
    note: str | None,
    *,
    paused: bool | None = None,
    read_only: bool | None = None,
) -> None:
    config = load_or_exit(ctx)
    if name not in config.connections:
        known = ", ".join(sorted(config.connections)) or "none"
        _fail(f"No connection named {name!r} in the config (known: {known}).")
    store = _open(config)
    try:
        control = store.set_control(name, paused=paused, read_only=read_only, note=note)
    finally:
        store.close()
    state = "paused" if control.paused else "active"
    if control.read_only or config.connection(name).read_only:
        state += ", read-only"
    console.print(f"{name}: {state}", highlight=False)


def _open(config: Config) -> Store:
    try:
        return open_store(config.store_url())
    except ServiceSyncError as exc:
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)
