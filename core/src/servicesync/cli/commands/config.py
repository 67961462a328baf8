"""``servicesync config check``: validate the config without touching anything."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from pydantic import ValidationError

from servicesync.cli._app import console, err_console, globals_of, installed_plugins
from servicesync.config import Config, load_config
from servicesync.errors import ConfigError, PluginError
from servicesync.logs import register_secrets
from servicesync.plugins import Plugins, load_plugins

config_app = typer.Typer(help="Check the config file.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``config`` group to ``app``."""
    app.add_typer(config_app, name="config")


def load_or_exit(ctx: typer.Context) -> Config:
    """Load the config named by --config, or print why not and exit with 1."""
    try:
        config = load_config(globals_of(ctx).config_path)
    except ConfigError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    register_secrets(*config.secret_values)
    return config


def check_connections(config: Config, plugins: Plugins) -> list[str]:
    """Validate each connection's settings against its connector's model.

    Returns:
        One message per problem, naming the file and the key.
    """
    where = str(config.path or "<config>")
    problems = []
    for name, connection in config.connections.items():
        key = f"connections.{name}"
        try:
            connector = plugins.connector(connection.plugin)
        except PluginError as exc:
            problems.append(f"{where}: {key}.plugin: {exc}")
            continue
        try:
            connector.config_model.model_validate(connection.settings)
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(p) for p in error["loc"])
                what = (
                    "unknown key"
                    if error["type"] == "extra_forbidden"
                    else error["msg"]
                )
                problems.append(f"{where}: {key}.settings.{field}: {what}")
    for name, flow in config.flows.items():
        for role in ("source", "target"):
            target = getattr(flow, role)
            if target not in config.connections:
                problems.append(
                    f"{where}: flows.{name}.{role}: no connection is called {target!r}"
                )
    return problems


@config_app.command("check")
def check(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON report.")
    ] = False,
) -> None:
    """Validate the config and every connection's settings; write nothing."""
    config = load_or_exit(ctx)
    enabled = config.plugins.enabled
    plugins = installed_plugins() if enabled is None else load_plugins(enabled)
    problems = check_connections(config, plugins)
    if as_json:
        report = {
            "path": str(config.path),
            "ok": not problems,
            "problems": problems,
            "connections": sorted(config.connections),
        }
        console.print_json(json.dumps(report))
    elif problems:
        for problem in problems:
            err_console.print(f"[red]error:[/red] {problem}", highlight=False)
    else:
        console.print(
            f"{config.path}: ok, {len(config.connections)} connection(s), "
            f"{len(config.flows)} flow(s).",
            highlight=False,
        )
    if problems:
        raise typer.Exit(1)
