"""``servicesync init``: write a commented starter config."""

from __future__ import annotations

from importlib.resources import files
from typing import Annotated

import typer

from servicesync.cli._app import console, err_console, globals_of


def register(app: typer.Typer) -> None:
    """Add the ``init`` command to ``app``."""
    app.command("init")(init)


def init(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing file.")
    ] = False,
) -> None:
    """Write a commented starter config to the --config path."""
    path = globals_of(ctx).config_path
    if path.exists() and not force:
        err_console.print(
            f"{path} already exists; pass --force to overwrite it.", highlight=False
        )
        raise typer.Exit(1)
    starter = files("servicesync").joinpath("samples/servicesync.toml").read_text()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(starter, encoding="utf-8")
    console.print(f"Wrote {path}. Next: edit it, then run 'servicesync config check'.")
