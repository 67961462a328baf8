"""What the operator commands share: clean failures, the store, plugins, output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from servicesync.cli._app import console, err_console, installed_plugins
from servicesync.config import Config
from servicesync.errors import ServiceSyncError
from servicesync.plugins import Plugins, load_plugins
from servicesync.store import Store, open_store, redact_url

__all__ = [
    "ConnectionOption",
    "JsonOption",
    "check_connection",
    "configured_store",
    "fail",
    "moment",
    "plugins_for",
    "print_json",
    "print_table",
    "text",
]

ConnectionOption = Annotated[
    str | None,
    typer.Option(
        "--connection", "-C", help="Only this connection.", show_default="all"
    ),
]

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document instead of a table.")
]


def fail(message: str) -> NoReturn:
    """Print ``message`` as an error on stderr and exit with status 1."""
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(1)


def check_connection(config: Config, name: str | None) -> None:
    """Exit with status 1 when ``name`` is given but not a connection of the config."""
    if name is not None and name not in config.connections:
        known = ", ".join(sorted(config.connections)) or "none"
        fail(f"No connection named {name!r} in the config (known: {known}).")


@contextmanager
def configured_store(config: Config) -> Iterator[Store]:
    """Open the config's store for the length of a command, closing it after.

    A store that cannot be opened or read ends the command with status 1 and
    the reason, never with a traceback.
    """
    url = config.store_url()
    try:
        store = open_store(url)
    except ServiceSyncError as exc:
        fail(str(exc))
    try:
        yield store
    except SQLAlchemyError as exc:
        fail(f"The store {redact_url(url)!r} failed: {type(exc).__name__}: {exc}")
    finally:
        store.close()


def plugins_for(config: Config) -> Plugins:
    """Return the plugins the config allows: all installed, or those it enables."""
    enabled = config.plugins.enabled
    return installed_plugins() if enabled is None else load_plugins(enabled)


def print_json(document: Any) -> None:
    """Write ``document`` to stdout as indented JSON; times in ISO 8601."""
    typer.echo(json.dumps(document, indent=2, default=_plain))


def print_table(table: Table) -> None:
    """Print ``table`` to stdout, fitting a terminal; piped, at its full width.

    Written to a file or a pipe, a table keeps every character of its cells
    rather than being cut down to 80 columns.
    """
    if console.is_terminal:
        console.print(table)
        return
    unbounded = console.options.update_width(10_000)
    width = max(console.width, console.measure(table, options=unbounded).maximum)
    Console(file=console.file, width=width, soft_wrap=True).print(table)


def moment(value: datetime | None) -> str:
    """Show a stored time in UTC to the second, or ``-`` when there is none."""
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def text(value: object) -> Text:
    """A table cell showing ``value`` as it is: brackets in it are not markup."""
    return Text("-" if value is None else str(value))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
