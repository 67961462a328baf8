"""The root Typer application and the options every command shares."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from pluggy import HookImpl
from rich.console import Console

from servicesync import __version__
from servicesync.plugins import Plugins, load_plugins

__all__ = [
    "Globals",
    "app",
    "build_app",
    "console",
    "err_console",
    "globals_of",
    "installed_plugins",
]

logger = logging.getLogger(__name__)

DEFAULT_CONFIG = "servicesync.toml"

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

app = typer.Typer(
    name="servicesync",
    help="Keep the sales and delivery sides of a services company consistent.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@dataclass
class Globals:
    """Options given before the command, shared by every command."""

    config_path: Path
    verbose: int = 0
    json_logs: bool = False


def globals_of(ctx: typer.Context) -> Globals:
    """Return the shared options of the running command."""
    root = ctx.find_root()
    if not isinstance(root.obj, Globals):
        root.obj = Globals(config_path=_default_config())
    return root.obj


def _default_config() -> Path:
    return Path(os.environ.get("SERVICESYNC_CONFIG", DEFAULT_CONFIG))


def _print_version(value: bool) -> None:
    if value:
        console.print(f"servicesync {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Config file [default: $SERVICESYNC_CONFIG or ./servicesync.toml].",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log output.")
    ] = 0,
    json_logs: Annotated[
        bool, typer.Option("--json-logs", help="Write logs as JSON lines.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    """Keep the sales and delivery sides of a services company consistent."""
    ctx.obj = Globals(
        config_path=config or _default_config(), verbose=verbose, json_logs=json_logs
    )
    from servicesync.logs import configure_logging

    configure_logging(verbose=verbose, json_lines=json_logs)


_built = False


def build_app() -> typer.Typer:
    """Attach the core's command groups and the plugins' commands, once."""
    global _built
    if _built:
        return app
    _built = True
    from servicesync.cli import commands

    commands.register_all(app)
    for name, impl in _command_hooks():
        try:
            impl.function(app=app)
        except Exception as exc:  # one broken plugin must not take the CLI down
            logger.error("Plugin %r could not add its commands: %s", name, exc)
    return app


def installed_plugins() -> Plugins:
    """Return the installed plugins, loaded once per process."""
    global _plugins
    if _plugins is None:
        _plugins = load_plugins()
    return _plugins


_plugins: Plugins | None = None


def _command_hooks() -> list[tuple[str, HookImpl]]:
    plugins = installed_plugins()
    return [
        (impl.plugin_name, impl)
        for impl in plugins.manager.hook.register_commands.get_hookimpls()
    ]
