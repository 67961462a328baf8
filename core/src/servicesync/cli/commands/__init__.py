"""The core's command groups; each module here has a ``register(app)`` function."""

from __future__ import annotations

import importlib

import typer

#: Modules under this package that add commands, in help order.
MODULES = (
    "init",
    "config",
    "plugins",
    "db",
    "catalog",
    "sync",
    "link",
    "state",
    "runs",
    "quarantine",
    "dead_letters",
    "conflicts",
    "daemon",
    "connections",
    "webhooks",
)


def register_all(app: typer.Typer) -> None:
    """Attach every core command group to ``app``."""
    for name in MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(app)
