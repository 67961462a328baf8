"""``servicesync dead-letters``: deliveries that failed too often, and resending them.

An event has one delivery per consumer: ``plugin:NAME`` for a plugin's hook,
``flow:NAME`` for a flow of the config. A replay makes the dead deliveries
due again and hands them over at once; a consumer that had already taken an
event is not called again, since only dead deliveries change.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from rich.table import Table

from servicesync.cli._app import console, err_console
from servicesync.cli.commands._common import (
    JsonOption,
    configured_store,
    fail,
    moment,
    plugins_for,
    print_json,
    print_table,
    text,
)
from servicesync.cli.commands.config import load_or_exit
from servicesync.config import Config
from servicesync.engine import Dispatcher, Engine, replay
from servicesync.engine._outbox import Handler
from servicesync.errors import ServiceSyncError
from servicesync.store import ClaimedEvent, Store

dead_letters_app = typer.Typer(
    help="List event deliveries that failed too often, or send them again.",
    no_args_is_help=True,
)

PluginOption = Annotated[
    str | None,
    typer.Option(
        "--plugin",
        "-p",
        help="Only this consumer: a plugin's name, or flow:NAME for a flow.",
        show_default="all",
    ),
]

#: A replayed delivery: the event's id and its consumer.
Delivery = tuple[str, str]


def register(app: typer.Typer) -> None:
    """Add the ``dead-letters`` group to ``app``."""
    app.add_typer(dead_letters_app, name="dead-letters")


def consumer_name(plugin: str | None) -> str | None:
    """Read ``--plugin``: a bare name means the plugin's hook consumer."""
    if plugin is None or ":" in plugin:
        return plugin
    return f"plugin:{plugin}"


@dead_letters_app.command("list")
def list_command(
    ctx: typer.Context, plugin: PluginOption = None, as_json: JsonOption = False
) -> None:
    """List the dead deliveries with their last error."""
    config = load_or_exit(ctx)
    with configured_store(config) as store:
        dead = store.dead_letters(consumer_name(plugin))
    if as_json:
        print_json({"dead_letters": [_entry(letter) for letter in dead]})
    elif not dead:
        console.print("No dead letters.")
    else:
        print_table(_table(dead))


@dead_letters_app.command("replay")
def replay_command(
    ctx: typer.Context,
    event_id: Annotated[
        str | None,
        typer.Argument(help="Replay only this event.", show_default="every one"),
    ] = None,
    plugin: PluginOption = None,
) -> None:
    """Send dead deliveries again now; exit with 1 if any fails again."""
    config = load_or_exit(ctx)
    with configured_store(config) as store:
        dead = [
            letter
            for letter in store.dead_letters(consumer_name(plugin))
            if event_id is None or letter.event_id == event_id
        ]
        if not dead:
            if event_id is not None:
                fail(f"No dead letter has the event id {event_id!r}.")
            console.print("No dead letters to replay.")
            return
        outcomes = _replay(config, store, dead, event_id)
    print_table(_outcome_table(dead, outcomes))
    failed = [d for d in dead if outcomes.get((d.event_id, d.plugin), "") is not None]
    if failed:
        err_console.print(
            text(
                f"{len(failed)} delivery(ies) failed again. The next syncs retry "
                "them with backoff; if they keep failing, they become dead "
                "letters again."
            )
        )
        raise typer.Exit(1)


def _replay(
    config: Config, store: Store, dead: list[ClaimedEvent], event_id: str | None
) -> dict[Delivery, str | None]:
    """Replay ``dead`` through their consumers' handlers; return each outcome.

    An outcome is ``None`` for a delivery made, else why it was not made.
    """
    engine = Engine(config, store, plugins_for(config))
    outcomes: dict[Delivery, str | None] = {}

    async def run() -> None:
        try:
            handlers = engine.handlers()
            watched: dict[str, Handler] = {}
            for consumer in sorted({letter.plugin for letter in dead}):
                if consumer not in handlers:
                    for letter in dead:
                        if letter.plugin == consumer:
                            outcomes[(letter.event_id, consumer)] = (
                                f"{consumer} is not installed or not enabled; "
                                "the delivery stays a dead letter"
                            )
                    continue
                watched[consumer] = _watched(consumer, handlers[consumer], outcomes)
                replay(store, event_id=event_id, consumer=consumer)
            await Dispatcher(store, watched).drain()
        finally:
            await engine.aclose()

    try:
        asyncio.run(run())
    except ServiceSyncError as exc:
        fail(f"The replay stopped: {exc}")
    return outcomes


def _watched(
    consumer: str, handler: Handler, outcomes: dict[Delivery, str | None]
) -> Handler:
    """Wrap ``handler`` to note, per event, whether it succeeded and why not."""

    async def handle(event_type: str, event_id: str, payload: dict[str, Any]) -> None:
        try:
            await handler(event_type, event_id, payload)
        except Exception as exc:
            outcomes[(event_id, consumer)] = f"{type(exc).__name__}: {exc}"
            raise
        outcomes[(event_id, consumer)] = None

    return handle


def _table(dead: list[ClaimedEvent]) -> Table:
    table = Table(caption="Times are UTC.")
    for column in ("event", "consumer", "type", "created"):
        table.add_column(column, no_wrap=True)
    table.add_column("attempts", justify="right")
    table.add_column("last error", min_width=12)
    for letter in dead:
        table.add_row(
            text(letter.event_id),
            text(letter.plugin),
            text(letter.type),
            moment(letter.created_at),
            str(letter.attempts),
            text(letter.last_error),
        )
    return table


def _outcome_table(
    dead: list[ClaimedEvent], outcomes: dict[Delivery, str | None]
) -> Table:
    table = Table("event", "consumer", "outcome", title="Replayed")
    for letter in dead:
        key = (letter.event_id, letter.plugin)
        reason = outcomes.get(key, "not delivered: the handler timed out")
        shown = "[green]delivered[/green]" if reason is None else text(reason)
        table.add_row(text(letter.event_id), text(letter.plugin), shown)
    return table


def _entry(letter: ClaimedEvent) -> dict[str, Any]:
    return {
        "event_id": letter.event_id,
        "consumer": letter.plugin,
        "type": letter.type,
        "attempts": letter.attempts,
        "created_at": letter.created_at,
        "last_error": letter.last_error,
        "payload": dict(letter.payload),
    }
