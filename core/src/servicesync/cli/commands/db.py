"""``servicesync db``: bring the store's schema up to date, or show where it is."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer
from sqlalchemy.exc import SQLAlchemyError

from servicesync.cli._app import console, err_console, globals_of
from servicesync.errors import ServiceSyncError
from servicesync.store import (
    current_revision,
    head_revision,
    make_engine,
    redact_url,
    upgrade,
)

db_app = typer.Typer(help="Manage the store's database schema.", no_args_is_help=True)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Store URL [default: [store] url of the config].",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    """Add the ``db`` group to ``app``."""
    app.add_typer(db_app, name="db")


def store_url_for(ctx: typer.Context, url: str | None = None) -> str:
    """Return the store URL: ``url`` if given, else the config's ``[store] url``.

    A relative SQLite path is read from the config file's folder. A missing
    or broken config prints the reason and exits with status 1.
    """
    if url:
        return url
    from servicesync.cli.commands.config import load_or_exit

    return load_or_exit(ctx).store_url()


@db_app.command("upgrade")
def upgrade_command(ctx: typer.Context, url: UrlOption = None) -> None:
    """Migrate the store to the schema this version of servicesync needs."""
    target = store_url_for(ctx, url)
    try:
        engine = make_engine(target)
        try:
            before = current_revision(engine)
            upgrade(engine)
            after = current_revision(engine)
        finally:
            engine.dispose()
    except (ServiceSyncError, SQLAlchemyError, OSError) as exc:
        _fail(f"The store {redact_url(target)!r} was not upgraded: {exc}")
    if globals_of(ctx).verbose or before != after:
        console.print(f"Store at revision {after} (was {before or 'empty'}).")


@db_app.command("current")
def current_command(ctx: typer.Context, url: UrlOption = None) -> None:
    """Show the store's schema revision and whether it is up to date."""
    target = store_url_for(ctx, url)
    try:
        engine = make_engine(target)
        try:
            revision = current_revision(engine)
        finally:
            engine.dispose()
    except (ServiceSyncError, SQLAlchemyError, OSError) as exc:
        _fail(f"The store {redact_url(target)!r} cannot be read: {exc}")
    head = head_revision()
    state = (
        "up to date"
        if revision == head
        else f"behind {head}; run 'servicesync db upgrade'"
    )
    console.print(f"{revision or 'empty'} ({state})", highlight=False)


def _fail(message: str) -> NoReturn:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)
