"""``servicesync catalog``: load services, templates and experts, or write them out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from servicesync.catalog import (
    dump_catalog,
    export_catalog,
    import_catalog,
    load_catalog_file,
)
from servicesync.cli._app import console, err_console, globals_of
from servicesync.cli.commands.db import UrlOption, store_url_for
from servicesync.errors import ServiceSyncError
from servicesync.store import open_store

catalog_app = typer.Typer(
    help="Import and export the service catalog.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the ``catalog`` group to ``app``."""
    app.add_typer(catalog_app, name="catalog")


@catalog_app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="A YAML catalog, or a CSV file of experts.")
    ],
    url: UrlOption = None,
) -> None:
    """Load a catalog file; importing the same file again changes nothing."""
    target = store_url_for(ctx, url)
    try:
        catalog = load_catalog_file(file)
        store = open_store(target)
        try:
            summary = import_catalog(store, catalog)
        finally:
            store.close()
    except ServiceSyncError as exc:
        _fail(str(exc))
    if globals_of(ctx).verbose:
        console.print(
            f"Imported {summary.services} services, {summary.templates} templates "
            f"and {summary.experts} experts from {file}."
        )


@catalog_app.command("export")
def export_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The YAML file to write; - for stdout.")],
    url: UrlOption = None,
) -> None:
    """Write the catalog as YAML that imports back to the same catalog."""
    target = store_url_for(ctx, url)
    try:
        store = open_store(target)
        try:
            text = dump_catalog(export_catalog(store))
        finally:
            store.close()
    except ServiceSyncError as exc:
        _fail(str(exc))
    if str(file) == "-":
        typer.echo(text, nl=False)
        return
    try:
        file.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"The catalog cannot be written to {str(file)!r}: {exc.strerror}.")


def _fail(message: str) -> NoReturn:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)
