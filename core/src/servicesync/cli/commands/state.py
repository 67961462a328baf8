"""``servicesync state``: where each stream stands, and starting one over.

A reset forgets a stream's state and the payload hashes it remembered, so
the next sync reads the stream in full and takes every record in again. That
sync is a baseline, like the very first one: it fires no flows. A reset is
for re-reading history (after a mapping change, say), and history must not
start flows a second time; changes still waiting at the service when the
stream is reset are taken in without firing flows too, so sync first.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from servicesync.cli._app import console, err_console
from servicesync.cli.commands._common import (
    JsonOption,
    check_connection,
    configured_store,
    moment,
    print_json,
    print_table,
    text,
)
from servicesync.cli.commands.config import load_or_exit
from servicesync.store import RunRow, StreamPosition

state_app = typer.Typer(
    help="Show where each stream stands, or start one over.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the ``state`` group to ``app``."""
    app.add_typer(state_app, name="state")


@state_app.command("show")
def show_command(
    ctx: typer.Context,
    connection: Annotated[
        str | None,
        typer.Argument(help="Show only this connection.", show_default="all"),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show each stream's cursor, open window, resume point and last run."""
    config = load_or_exit(ctx)
    check_connection(config, connection)
    with configured_store(config) as store:
        positions = store.stream_positions(connection)
        runs = store.last_runs(connection)
    if as_json:
        print_json({"streams": [_entry(p, runs) for p in positions]})
    elif not positions:
        console.print("No stream has been read yet.")
    else:
        print_table(_table(positions, runs))


@state_app.command("reset")
def reset_command(
    ctx: typer.Context,
    connection: Annotated[str, typer.Argument(help="The connection to reset.")],
    stream: Annotated[
        str | None,
        typer.Argument(help="Reset only this stream.", show_default="all streams"),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")
    ] = False,
) -> None:
    """Forget where streams stand: the next sync reads them in full, as a baseline.

    That sync fires no flows, so history is not acted on twice.
    """
    config = load_or_exit(ctx)
    check_connection(config, connection)
    target = f"{connection}.{stream}" if stream else f"every stream of {connection}"
    if not yes:
        typer.confirm(
            f"Forget where {target} stands? The next sync reads it in full and "
            "fires no flows for what it finds.",
            abort=True,
        )
    with configured_store(config) as store:
        reset = store.reset_streams(connection, stream)
        left = [p.stream for p in store.stream_positions(connection)]
    if not reset:
        note = f"Nothing stored for {target}; the next sync reads it in full already."
        if left:
            note += f" Streams with a stored state: {', '.join(left)}."
        err_console.print(text(note))
        return
    names = ", ".join(f"{connection}.{name}" for name in reset)
    them = "it" if len(reset) == 1 else "them"
    console.print(
        text(f"Reset {names}. The next sync reads {them} in full and fires no flows.")
    )


def _table(positions: list[StreamPosition], runs: dict[Any, RunRow]) -> Table:
    table = Table(caption="Times are UTC.")
    for column in (
        "connection",
        "stream",
        "cursor",
        "window start",
        "window end",
        "resume point",
        "last run",
    ):
        table.add_column(column, no_wrap=column in ("connection", "stream"))
    for position in positions:
        state = position.state
        run = runs.get((position.connection, position.stream))
        table.add_row(
            text(position.connection),
            text(position.stream),
            moment(state.cursor),
            moment(state.window_start),
            moment(state.window_end),
            text(state.resume_after),
            text(f"{run.status} {moment(run.started_at)}" if run else None),
        )
    return table


def _entry(position: StreamPosition, runs: dict[Any, RunRow]) -> dict[str, Any]:
    state = position.state
    run = runs.get((position.connection, position.stream))
    return {
        "connection": position.connection,
        "stream": position.stream,
        "cursor": state.cursor,
        "window_start": state.window_start,
        "window_end": state.window_end,
        "resume_after": state.resume_after,
        "updated_at": position.updated_at,
        "last_run": _run_summary(run) if run else None,
    }


def _run_summary(run: RunRow) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }
