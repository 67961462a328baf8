"""``servicesync sync``: read every connection's streams and run the flows once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from servicesync.cli._app import console
from servicesync.cli.commands._common import (
    JsonOption,
    check_connection,
    configured_store,
    fail,
    plugins_for,
    print_json,
    print_table,
    text,
)
from servicesync.cli.commands.config import load_or_exit
from servicesync.engine import Engine, StreamCounts, SyncReport
from servicesync.errors import AuthenticationError, ServiceSyncError
from servicesync.store import Store

#: How many record ids a dry run lists per stream and kind before "and N more".
SHOWN_IDS = 10


def register(app: typer.Typer) -> None:
    """Add the ``sync`` command to ``app``."""
    app.command("sync")(sync_command)


def sync_command(
    ctx: typer.Context,
    connection: Annotated[
        str | None,
        typer.Argument(
            help="The connection to sync.", show_default="every enabled one"
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Read and compare, write nothing anywhere."),
    ] = False,
    full_refresh: Annotated[
        bool,
        typer.Option("--full-refresh", help="Read everything again, not only changes."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Sync the connections once, then deliver the events the sync produced."""
    config = load_or_exit(ctx)
    check_connection(config, connection)
    with configured_store(config) as store:
        engine = Engine(config, store, plugins_for(config))
        live = console.is_terminal and not as_json
        with SyncProgress(console) if live else _no_progress() as progress:
            report = _run(engine, connection, dry_run, full_refresh, progress)
        preview = _preview(store, report) if dry_run else None
        waiting = store.backlog().outbox if dry_run else {}
    if as_json:
        print_json(_document(report, preview, waiting))
    elif preview is not None:
        _print_preview(preview, waiting)
    else:
        print_table(_report_table(report))


def _run(
    engine: Engine,
    connection: str | None,
    dry_run: bool,
    full_refresh: bool,
    progress: Callable[[str, int], None] | None,
) -> SyncReport:
    async def run() -> SyncReport:
        try:
            return await engine.sync(
                connection,
                dry_run=dry_run,
                full_refresh=full_refresh,
                progress=progress,
                trigger="cli",
            )
        finally:
            await engine.aclose()

    try:
        return asyncio.run(run())
    except AuthenticationError as exc:
        fail(
            f"The sync stopped: {exc} Check the connection's credentials, then "
            "run 'servicesync config check'."
        )
    except ServiceSyncError as exc:
        fail(f"The sync stopped: {exc}")


class SyncProgress:
    """A live count of the records read per ``connection.stream``.

    Used as the engine's progress callback inside a ``with`` block; the
    display disappears when the block ends, leaving the final report.
    """

    def __init__(self, target: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(finished_text="[green]✓[/green]"),
            TextColumn("{task.description}"),
            TextColumn("{task.completed:>8.0f} records read"),
            TimeElapsedColumn(),
            console=target,
            transient=True,
        )
        self._tasks: dict[str, TaskID] = {}
        self._current: TaskID | None = None

    def __call__(self, stream: str, size: int) -> None:
        """Count ``size`` more records read from ``stream``."""
        task = self._tasks.get(stream)
        if task is None:
            self._finish_current()
            task = self._tasks[stream] = self._progress.add_task(stream, total=None)
            self._current = task
        self._progress.advance(task, size)

    def _finish_current(self) -> None:
        # Streams run one after another: a new one means the last one is done.
        if self._current is not None:
            done = self._progress.tasks[self._current].completed
            self._progress.update(self._current, total=done)

    def __enter__(self) -> SyncProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.stop()


@contextmanager
def _no_progress() -> Iterator[None]:
    yield None


@dataclass
class StreamPreview:
    """What a dry run found in one stream: new records and changed ones."""

    counts: StreamCounts
    create: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)


def _preview(store: Store, report: SyncReport) -> dict[str, dict[str, StreamPreview]]:
    """Sort each stream's would-be writes into records new to the store and changed.

    A record whose payload hash the store keeps was taken in before, so
    writing it updates; any other would be created.
    """
    found: dict[str, dict[str, StreamPreview]] = {}
    for key, counts in report.streams.items():
        connection, stream = key.rsplit(".", 1)
        ids = [entry.split(" ", 1)[1] for entry in counts.would_write]
        known = store.known_records(connection, stream, ids)
        preview = StreamPreview(counts)
        for external_id in ids:
            (preview.update if external_id in known else preview.create).append(
                external_id
            )
        found.setdefault(connection, {})[stream] = preview
    return found


def _print_preview(
    previews: dict[str, dict[str, StreamPreview]], waiting: dict[str, int]
) -> None:
    console.print("Dry run: nothing was written anywhere.", highlight=False)
    for connection, streams in previews.items():
        table = Table(title=connection, title_justify="left")
        for column in ("stream", "read", "unchanged", "would create", "would update"):
            table.add_column(column, justify="left" if column == "stream" else "right")
        for name, preview in streams.items():
            table.add_row(
                name,
                str(preview.counts.read),
                str(preview.counts.skipped_unchanged),
                str(len(preview.create)),
                str(len(preview.update)),
            )
        print_table(table)
        for name, preview in streams.items():
            for verb, ids in (("create", preview.create), ("update", preview.update)):
                if ids:
                    console.print(text(f"  would {verb} {name}: {_listed(ids)}"))
    console.print(text(_waiting_line(waiting)))


def _listed(ids: list[str]) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    hidden = len(ids) - SHOWN_IDS
    return f"{shown} and {hidden} more" if hidden > 0 else shown


def _waiting_line(waiting: dict[str, int]) -> str:
    if not waiting:
        return "No event deliveries wait in the outbox; a sync would send none now."
    each = ", ".join(f"{name} {count}" for name, count in sorted(waiting.items()))
    total = sum(waiting.values())
    return (
        f"{total} event deliveries wait in the outbox ({each}); "
        "a sync hands over those that are due."
    )


def _report_table(report: SyncReport) -> Table:
    table = Table()
    for column in ("stream", "read", "unchanged", "written", "quarantined", "events"):
        table.add_column(column, justify="left" if column == "stream" else "right")
    for name, counts in report.streams.items():
        table.add_row(
            name,
            str(counts.read),
            str(counts.skipped_unchanged),
            str(counts.written),
            str(counts.quarantined),
            str(counts.events),
        )
    table.caption = f"{report.delivered} event deliveries made."
    return table


def _document(
    report: SyncReport,
    previews: dict[str, dict[str, StreamPreview]] | None,
    waiting: dict[str, int],
) -> dict[str, Any]:
    if previews is not None:
        return {
            "dry_run": True,
            "streams": {
                f"{connection}.{stream}": {
                    "read": preview.counts.read,
                    "unchanged": preview.counts.skipped_unchanged,
                    "would_create": preview.create,
                    "would_update": preview.update,
                }
                for connection, found in previews.items()
                for stream, preview in found.items()
            },
            "outbox_waiting": waiting,
        }
    streams = {
        key: {
            "read": counts.read,
            "unchanged": counts.skipped_unchanged,
            "written": counts.written,
            "quarantined": counts.quarantined,
            "events": counts.events,
        }
        for key, counts in report.streams.items()
    }
    return {"dry_run": False, "streams": streams, "delivered": report.delivered}
