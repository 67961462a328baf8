"""``servicesync plugins list``: what is installed, what it adds, what failed."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from servicesync.cli._app import console, err_console, installed_plugins

plugins_app = typer.Typer(help="Inspect installed plugins.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``plugins`` group to ``app``."""
    app.add_typer(plugins_app, name="plugins")


@plugins_app.command("list")
def list_plugins(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List installed plugins with their connectors, hooks and load errors."""
    plugins = installed_plugins()
    if as_json:
        report = {
            "plugins": [vars(info) for info in plugins.info.values()],
            "failures": [vars(failure) for failure in plugins.failures],
        }
        typer.echo(json.dumps(report, indent=2))
        return

    table = Table("plugin", "version", "connectors", "hooks", title="Plugins")
    for info in sorted(plugins.info.values(), key=lambda i: i.name):
        table.add_row(
            info.name,
            info.version,
            ", ".join(info.connectors) or "-",
            ", ".join(info.hooks),
        )
    for failure in plugins.failures:
        table.add_row(failure.name, "-", "-", f"[red]failed: {failure.reason}[/red]")
    console.print(table)
    if failures := plugins.failures:
        err_console.print(
            f"{len(failures)} plugin(s) could not be loaded; the others work. "
            "Run with -vv for tracebacks.",
            highlight=False,
        )
