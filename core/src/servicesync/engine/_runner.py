"""Reading a connection's streams into the store, page by page.

Each page is committed in one transaction together with the stream's
checkpoint: the records it changed, their hashes, the events it caused and
the new state. A crash between pages loses nothing and repeats at most one
page, whose records then hash the same and are skipped before parsing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from servicesync.config import ConnectionConfig
from servicesync.contract import Connector, Page, Record, Stream, StreamState
from servicesync.engine._deals import StageMove, save_deals
from servicesync.engine._failpoints import failpoint
from servicesync.engine._mapping import DealFields, apply_config_mapping, validate_deal
from servicesync.errors import MappingError, QuarantineLimitExceeded, ServiceSyncError
from servicesync.gcpause import collector_paused
from servicesync.store import QuarantineRow, RunCounts, Store
from servicesync.store._dialect import table_of

__all__ = ["StreamCounts", "StreamRunner"]

logger = logging.getLogger(__name__)

QUARANTINE = table_of(QuarantineRow)

#: The event a stage move becomes; its payload names the deal and both stages.
DEAL_STAGE_CHANGED = "deal_stage_changed"

#: Records a run reads before the share it refused can stop it: a handful
#: of bad records in a small incremental read says little of the mapping.
JUDGED_AFTER = 20


@dataclass
class StreamCounts:
    """What one stream's run did (or, in a dry run, would do)."""

    read: int = 0
    written: int = 0
    skipped_unchanged: int = 0
    quarantined: int = 0
    events: int = 0
    pages: int = 0
    would_write: list[str] = field(default_factory=list)

    def add(self, other: StreamCounts) -> None:
        """Add another page's counts to these."""
        self.read += other.read
        self.written += other.written
        self.skipped_unchanged += other.skipped_unchanged
        self.quarantined += other.quarantined
        self.events += other.events
        self.pages += other.pages
        self.would_write.extend(other.would_write)

    def for_store(self) -> RunCounts:
        """Return the counts the run history keeps."""
        return RunCounts(
            read=self.read,
            written=self.written,
            skipped_unchanged=self.skipped_unchanged,
            quarantined=self.quarantined,
        )


class StreamRunner:
    """Runs the streams of one connection into the store.

    Args:
        store: the store to write to.
        name: the connection's name in the config.
        connector: the connection's connector.
        config: the connection's config (its mapping refines the connector's).
        consumers: for an event type, the consumers that must receive it.
        progress: called with the stream's name and a page's size.
        trigger: what started the run (``schedule``, ``webhook:KEY``, ...),
            kept in the run history.
        worker: the process that runs it, kept in the run history.
        on_page: shown the connection's name, the stream and each page's
            records before the page is taken in (not in a dry run); the
            two-way flows keep what they need of delivery records this way.
    """

    def __init__(
        self,
        store: Store,
        name: str,
        connector: Connector[Any],
        config: ConnectionConfig,
        *,
        consumers: Callable[[str], Sequence[str]] = lambda _type: (),
        progress: Callable[[str, int], None] | None = None,
        trigger: str | None = None,
        worker: str | None = None,
        on_page: Callable[[str, Stream, Sequence[Record]], None] | None = None,
    ) -> None:
        self.store = store
        self.on_page = on_page
        self.trigger = trigger
        self.worker = worker
        self.name = name
        self.connector = connector
        self.config = config
        self.consumers = consumers
        self.progress = progress

    async def run(
        self, stream: Stream, *, full_refresh: bool = False, dry_run: bool = False
    ) -> StreamCounts:
        """Read ``stream`` from its saved state; return what was done.

        The very first run of a stream is its baseline: what it reads is
        stored, but fires no flows.
        """
        state, baseline = self.saved_state(stream)
        if full_refresh:
            state = StreamState()

        async def read(counts: StreamCounts) -> None:
            await self._read_pages(stream, state, counts, baseline, dry_run)

        return await self._as_run(stream, read, dry_run=dry_run)

    async def run_records(self, stream: Stream, ids: Sequence[str]) -> StreamCounts:
        """Read the named records again and take them in, as a run of ``stream``.

        A webhook names what changed: reading just that spares reading the
        stream, and sees a write at once where the stream's windowed read
        waits for the service's search index to settle. The page keeps the
        stream's state, since only a run of the whole stream moves its
        cursor. A stream that cannot read single records, or was never read
        in full (its baseline is still to be taken), is run from its saved
        state instead.
        """
        state, baseline = self.saved_state(stream)

        async def reread(counts: StreamCounts) -> None:
            records = None if baseline else await stream.read_records(ids)
            if records is None:
                await self._read_pages(stream, state, counts, baseline, False)
                return
            page = Page(records, state)
            counts.add(self.take_page(stream, page, baseline=baseline, dry_run=False))

        return await self._as_run(stream, reread, dry_run=False)

    def saved_state(self, stream: Stream) -> tuple[StreamState, bool]:
        """Return where ``stream`` stands, and whether its next read is its baseline."""
        with self.store.transaction() as tx:
            state = self.store.get_stream_state(tx, self.name, stream.name)
        return state, state.cursor is None and not state.in_window

    async def _as_run(
        self,
        stream: Stream,
        work: Callable[[StreamCounts], Awaitable[None]],
        *,
        dry_run: bool,
    ) -> StreamCounts:
        """Do ``work`` as one run of ``stream``, kept in the run history."""
        run_id = (
            ""
            if dry_run
            else self.store.start_run(
                self.name, stream.name, trigger=self.trigger, worker=self.worker
            )
        )
        counts = StreamCounts()
        try:
            await work(counts)
        except ServiceSyncError as exc:
            if run_id:
                self.store.finish_run(run_id, "failed", counts.for_store(), str(exc))
            raise
        except asyncio.CancelledError:
            # Stopped from outside (a daemon's shutdown); what was committed
            # stays, and the next run resumes from the saved state.
            if run_id:
                self.store.finish_run(
                    run_id, "interrupted", counts.for_store(), "stopped"
                )
            raise
        if run_id:
            self.store.finish_run(run_id, "ok", counts.for_store())
        return counts

    async def _read_pages(
        self,
        stream: Stream,
        state: StreamState,
        counts: StreamCounts,
        baseline: bool,
        dry_run: bool,
    ) -> None:
        async for page in stream.read(state):
            failpoint("after_page_read")
            counts.add(self.take_page(stream, page, baseline=baseline, dry_run=dry_run))
            if self.progress:
                self.progress(stream.name, len(page.records))
            failpoint("after_page_commit")
            self._check_refusals(stream, counts)

    def _check_refusals(self, stream: Stream, counts: StreamCounts) -> None:
        """Stop the run once it refused more of its records than it may.

        The page that crossed the limit is committed, its refused records in
        the quarantine; the next run resumes after it. A run that has read
        only a few records is not judged.
        """
        limit = self.config.max_quarantined_share
        if counts.read < JUDGED_AFTER or counts.quarantined <= limit * counts.read:
            return
        msg = (
            f"{self.name}/{stream.name}: {counts.quarantined} of the "
            f"{counts.read} records read could not be mapped "
            f"({counts.quarantined / counts.read:.0%}), more than the {limit:.0%} "
            f"that connections.{self.name}.max_quarantined_share allows; the run "
            "stopped after the page that crossed it. 'servicesync quarantine "
            "list' says why each was refused; once the mapping is fixed, "
            "'servicesync quarantine retry' takes them in."
        )
        raise QuarantineLimitExceeded(msg)

    def take_page(
        self, stream: Stream, page: Page, *, baseline: bool, dry_run: bool
    ) -> StreamCounts:
        """Take one page in, in one transaction with its state; return the counts.

        A run calls this for each page it reads; a webhook's re-read of
        single records does too, with a page that keeps the stream's state.
        """
        if self.on_page is not None and not dry_run:
            self.on_page(self.name, stream, page.records)
        counts = StreamCounts(read=len(page.records), pages=1)
        with collector_paused(), self.store.transaction() as tx:
            changed = self.store.changed_records(
                tx, self.name, stream.name, page.records
            )
            counts.skipped_unchanged = len(page.records) - len(changed)
            if dry_run:
                counts.would_write = [f"{stream.name} {r.external_id}" for r in changed]
                tx.rollback()
                return counts

            taken, refused = self._map(stream, changed)
            for record, reason in refused:
                logger.warning(
                    "%s/%s record %s quarantined: %s",
                    self.name,
                    stream.name,
                    record.external_id,
                    reason,
                )
                self.store.put_quarantine(
                    tx,
                    self.name,
                    stream.name,
                    record.external_id,
                    record.payload,
                    reason,
                )
            moves = self._save(tx, stream, taken)
            kept = [record for record, _ in taken]
            self.store.remember_hashes(tx, self.name, stream.name, kept)
            _resolve_quarantine(tx, self.name, stream.name, kept)
            if not baseline:
                counts.events = self._emit(tx, moves)
            self.store.set_stream_state(tx, self.name, stream.name, page.checkpoint)
        counts.written = len(kept)
        counts.quarantined = len(refused)
        return counts

    def _map(
        self, stream: Stream, records: Sequence[Record]
    ) -> tuple[list[tuple[Record, DealFields | None]], list[tuple[Record, str]]]:
        taken: list[tuple[Record, DealFields | None]] = []
        refused: list[tuple[Record, str]] = []
        for record in records:
            if record.deleted or stream.record_type != "deal":
                taken.append((record, None))
                continue
            try:
                fields = self.connector.map_record(stream.name, record.payload)
                if fields is None:
                    taken.append((record, None))
                    continue
                mapped = apply_config_mapping(
                    fields, record.payload, self.config.mapping
                )
                taken.append((record, validate_deal(mapped)))
            except MappingError as exc:
                refused.append((record, str(exc)))
        return taken, refused

    def _save(
        self,
        tx: sa.Connection,
        stream: Stream,
        taken: Sequence[tuple[Record, DealFields | None]],
    ) -> list[StageMove]:
        deals = [(r.external_id, f) for r, f in taken if f is not None]
        if stream.record_type != "deal" or not deals:
            return []
        return save_deals(tx, self.name, deals, self.store.now())

    def _emit(self, tx: sa.Connection, moves: Sequence[StageMove]) -> int:
        consumers = list(self.consumers(DEAL_STAGE_CHANGED))
        for move in moves:
            payload = {
                "connection": self.name,
                "deal_id": move.deal_id,
                "external_id": move.external_id,
                "previous_stage": move.previous,
                "stage": move.stage,
            }
            self.store.outbox_append(tx, DEAL_STAGE_CHANGED, payload, consumers)
        return len(moves)


def _resolve_quarantine(
    tx: sa.Connection, connection: str, stream: str, records: Sequence[Record]
) -> None:
    """Mark records taken in now as no longer quarantined."""
    if not records or not _open_quarantine(tx, connection, stream):
        return
    ids = [r.external_id for r in records]
    for start in range(0, len(ids), 500):
        tx.execute(
            sa.update(QUARANTINE)
            .where(
                QUARANTINE.c.connection == connection,
                QUARANTINE.c.stream == stream,
                QUARANTINE.c.resolved.is_(False),
                QUARANTINE.c.external_id.in_(ids[start : start + 500]),
            )
            .values(resolved=True)
        )


def _open_quarantine(tx: sa.Connection, connection: str, stream: str) -> bool:
    """Tell whether the stream has records in quarantine still."""
    # One indexed probe per page spares the common case, an empty quarantine,
    # an update per 500 records taken in.
    query = (
        sa.select(QUARANTINE.c.id)
        .where(
            QUARANTINE.c.connection == connection,
            QUARANTINE.c.stream == stream,
            QUARANTINE.c.resolved.is_(False),
        )
        .limit(1)
    )
    return tx.execute(query).first() is not None
