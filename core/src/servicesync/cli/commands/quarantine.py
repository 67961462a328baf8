"""``servicesync quarantine``: records the mapping refused, and trying them again.

A retry maps the kept raw payloads with the config's current mapping, through
the same code a sync uses. Records taken in this way fire no flows: the
quarantine may hold deals from long ago (see :func:`retry_quarantined`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import typer
from rich.table import Table

from servicesync.cli._app import console, err_console
from servicesync.cli.commands._common import (
    ConnectionOption,
    JsonOption,
    check_connection,
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
from servicesync.engine import Engine, RetryReport, retry_quarantined
from servicesync.errors import ServiceSyncError
from servicesync.store import QuarantineRow, Store

quarantine_app = typer.Typer(
    help="List the records the mapping refused, or try them again.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``quarantine`` group to ``app``."""
    app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
def list_command(
    ctx: typer.Context, connection: ConnectionOption = None, as_json: JsonOption = False
) -> None:
    """List the records in quarantine with the reason each was refused."""
    config = load_or_exit(ctx)
    check_connection(config, connection)
    with configured_store(config) as store:
        rows = store.quarantined(connection)
    if as_json:
        print_json({"records": [_entry(row) for row in rows]})
    elif not rows:
        console.print("The quarantine is empty.")
    else:
        print_table(_table(rows))


@quarantine_app.command("retry")
def retry_command(ctx: typer.Context, connection: ConnectionOption = None) -> None:
    """Map the quarantined records again with the config's current mapping.

    Those that map now are saved and leave the quarantine, firing no flows;
    the others stay, with the reason of this attempt.
    """
    config = load_or_exit(ctx)
    check_connection(config, connection)
    with configured_store(config) as store:
        names = sorted({row.connection for row in store.quarantined(connection)})
        if not names:
            console.print("The quarantine is empty.")
            return
        reports = _retry(config, store, names)
    taken = sum(len(report.taken) for report in reports.values())
    refused = [item for report in reports.values() for item in report.refused]
    if refused:
        print_table(_refused_table(refused))
    console.print(
        f"{taken} record(s) taken in (as a baseline: no flows fired), "
        f"{len(refused)} still in quarantine.",
        highlight=False,
    )


def _retry(config: Config, store: Store, names: list[str]) -> dict[str, RetryReport]:
    engine = Engine(config, store, plugins_for(config))
    reports: dict[str, RetryReport] = {}
    try:
        for name in names:
            if name not in config.connections:
                err_console.print(
                    text(
                        f"Skipped {name}: it is no longer a connection of the "
                        "config, so nothing can map its records."
                    )
                )
                continue
            connector = engine.connector(name)
            reports[name] = retry_quarantined(
                store, name, connector, config.connection(name)
            )
    except ServiceSyncError as exc:
        fail(f"The retry stopped: {exc}")
    finally:
        asyncio.run(engine.aclose())
    return reports


def _table(rows: list[QuarantineRow]) -> Table:
    table = Table(caption="Times are UTC.")
    for column in ("connection", "stream", "record"):
        table.add_column(column, no_wrap=True)
    table.add_column("reason", min_width=20)
    table.add_column("first seen")
    table.add_column("last seen")
    table.add_column("retries", justify="right")
    for row in rows:
        table.add_row(
            text(row.connection),
            text(row.stream),
            text(row.external_id),
            text(row.reason),
            moment(row.first_seen),
            moment(row.last_seen),
            str(row.retried),
        )
    return table


def _refused_table(refused: list[tuple[QuarantineRow, str]]) -> Table:
    table = Table("connection", "stream", "record", "reason", title="Still refused")
    for row, reason in refused:
        table.add_row(
            text(row.connection), text(row.stream), text(row.external_id), text(reason)
        )
    return table


def _entry(row: QuarantineRow) -> dict[str, Any]:
    return {
        "connection": row.connection,
        "stream": row.stream,
        "external_id": row.external_id,
        "reason": row.reason,
        "first_seen": row.first_seen,
        "last_seen": row.last_seen,
        "retries": row.retried,
        "payload": row.payload,
    }
