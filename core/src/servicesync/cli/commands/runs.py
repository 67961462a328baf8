"""``servicesync runs``: the latest sync runs from the store's run history."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from servicesync.cli._app import console
from servicesync.cli.commands._common import (
    ConnectionOption,
    JsonOption,
    check_connection,
    configured_store,
    moment,
    print_json,
    print_table,
    text,
)
from servicesync.cli.commands.config import load_or_exit
from servicesync.store import RunRow


def register(app: typer.Typer) -> None:
    """Add the ``runs`` command to ``app``."""
    app.command("runs")(runs_command)


def runs_command(
    ctx: typer.Context,
    connection: ConnectionOption = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="How many runs to show.")
    ] = 20,
    as_json: JsonOption = False,
) -> None:
    """List the latest runs, newest first: status, counts, duration and error."""
    config = load_or_exit(ctx)
    check_connection(config, connection)
    with configured_store(config) as store:
        runs = store.recent_runs(connection, limit)
    if as_json:
        print_json({"runs": [_entry(run) for run in runs]})
    elif not runs:
        console.print("No sync has run yet.")
    else:
        print_table(_table(runs))


def duration(run: RunRow) -> float | None:
    """Seconds the run took, or ``None`` while it runs."""
    if run.finished_at is None:
        return None
    return (run.finished_at - run.started_at).total_seconds()


def _table(runs: list[RunRow]) -> Table:
    table = Table(caption="Times are UTC.")
    for column in ("started", "connection", "stream", "status", "trigger"):
        table.add_column(column, no_wrap=True)
    for column in ("read", "written", "unchanged", "quarantined", "duration"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("error", min_width=12)
    for run in runs:
        seconds = duration(run)
        table.add_row(
            moment(run.started_at),
            text(run.connection),
            text(run.stream),
            _status(run.status),
            text(run.trigger),
            str(run.read),
            str(run.written),
            str(run.skipped_unchanged),
            str(run.quarantined),
            "-" if seconds is None else f"{seconds:.1f} s",
            text(run.message),
        )
    return table


def _status(status: str) -> str:
    colour = {"ok": "green", "failed": "red"}.get(status, "yellow")
    return f"[{colour}]{status}[/{colour}]"


def _entry(run: RunRow) -> dict[str, Any]:
    return {
        "id": run.id,
        "connection": run.connection,
        "stream": run.stream,
        "status": run.status,
        "trigger": run.trigger,
        "read": run.read,
        "written": run.written,
        "unchanged": run.skipped_unchanged,
        "quarantined": run.quarantined,
        "errors": run.errors,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_seconds": duration(run),
        "error": run.message,
    }
