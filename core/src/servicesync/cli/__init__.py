"""The ``servicesync`` command line.

Each group of commands lives in its own module and is attached to :data:`app`
here; plugins add theirs through the ``register_commands`` hook.
"""

from __future__ import annotations

import sys

from servicesync.cli._app import app, build_app

__all__ = ["app", "main"]


def main() -> None:
    """Run the command line; the entry point of the ``servicesync`` script."""
    build_app()
    sys.exit(app(standalone_mode=True))
