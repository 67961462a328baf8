"""The SDK's commands on the ``servicesync`` command line.

The SDK is itself a servicesync plugin (entry point ``servicesync.plugins:
sdk``) whose only hook adds ``servicesync fake PLUGIN``: serve a plugin's
fake service on a loopback port for demos, benchmarks and other processes.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Mapping
from typing import Annotated

import typer
from servicesync import SystemClock, hookimpl

from servicesync_sdk import _scaffold
from servicesync_sdk.fakes._discovery import FakeNotFoundError, load_fake
from servicesync_sdk.fakes._serve import serve_forever
from servicesync_sdk.fakes._service import FakeService

__all__ = ["fake", "main", "register_commands", "run_fake"]

logger = logging.getLogger(__name__)


@hookimpl
def register_commands(app: typer.Typer) -> None:
    """Add ``servicesync fake`` and ``servicesync plugin new``."""
    app.command("fake")(fake)
    _scaffold.register(app)


def fake(
    plugin: Annotated[str, typer.Argument(help="The plugin whose fake to serve.")],
    port: Annotated[
        int, typer.Option("--port", "-p", help="Port to listen on; 0 picks a free one.")
    ] = 0,
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    json_output: Annotated[
        bool,
        typer.Option(
            "--json", help="Print one JSON line with base_url and credentials first."
        ),
    ] = False,
    time_scale: Annotated[
        float,
        typer.Option(
            "--time-scale", help="How much faster than real time the fake runs."
        ),
    ] = 1.0,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed for faults and generated data.")
    ] = None,
) -> None:
    """Serve a plugin's fake service over HTTP until interrupted."""
    code = run_fake(
        plugin,
        port=port,
        host=host,
        json_output=json_output,
        time_scale=time_scale,
        seed=seed,
    )
    if code:
        raise typer.Exit(code)


def run_fake(
    plugin: str,
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    json_output: bool = False,
    time_scale: float = 1.0,
    seed: int | None = None,
    factories: Mapping[str, Callable[..., FakeService]] | None = None,
) -> int:
    """Build the fake of ``plugin`` and serve it until SIGINT or SIGTERM.

    Returns:
        The exit code: ``0`` after a signal, ``2`` for a bad argument or an
        unknown plugin.
    """
    try:
        clock = SystemClock(scale=time_scale)
        service = load_fake(plugin, clock=clock, seed=seed, factories=factories)
    except (ValueError, FakeNotFoundError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2

    def announce(base_url: str) -> None:
        if json_output:
            line = {
                "plugin": plugin,
                "base_url": base_url,
                "credentials": service.credentials(),
            }
            print(json.dumps(line), flush=True)
            return
        print(f"Serving the {plugin} fake at {base_url}", flush=True)
        for key, value in service.credentials().items():
            print(f"  {key}: {value}", flush=True)
        print("Press Ctrl+C to stop.", file=sys.stderr, flush=True)

    serve_forever(service, host=host, port=port, on_ready=announce)
    return 0


def main() -> None:
    """Run ``fake`` as a stand-alone command (``python -m servicesync_sdk.fakes``)."""
    typer.run(fake)
