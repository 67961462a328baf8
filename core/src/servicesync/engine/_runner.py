"""Reading a connection's streams into the store, page by page.

Each page is committed in one transaction together with the stream's
checkpoint: the records it changed, their hashes, the events it caused and
the new state. A crash between pages loses nothing and repeats at most one
page, whose records then hash the same and are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from servicesync._clock import Clock
from servicesync.config import ConnectionConfig
from servicesync.contract import Connector, Page, Record, Stream, StreamState
from servicesync.domain._base import new_id
from servicesync.engine._deals import save_deals
from servicesync.engine._failpoints import failpoint
from servicesync.engine._mapping import DealFields, apply_config_mapping, validate_deal
from servicesync.engine._outbox import append_events
from servicesync.engine._sql import upsert
from servicesync.errors import MappingError, ServiceSyncError
from servicesync.store._tables import QuarantineRow, RecordHash, RunRow, StreamStateRow

__all__ = ["RunCounts", "StreamRunner", "load_state", "save_state"]

logger = logging.getLogger(__name__)

HASHES = RecordHash.__table__  # type: ignore[attr-defined]
STATES = StreamStateRow.__table__  # type: ignore[attr-defined]
RUNS = RunRow.__table__  # type: ignore[attr-defined]
QUARANTINE = QuarantineRow.__table__  # type: ignore[attr-defined]


@dataclass
class RunCounts:
    """What one stream's run did."""

    read: int = 0
    written: int = 0
    skipped_unchanged: int = 0
    quarantined: int = 0
    events: int = 0
    pages: int = 0
    would_write: list[str] = field(default_factory=list)

    def add(self, other: RunCounts) -> None:
        """Add another run's counts to these."""
        self.read += other.read
        self.written += other.written
        self.skipped_unchanged += other.skipped_unchanged
        self.quarantined += other.quarantined
        self.events += other.events
        self.pages += other.pages


def load_state(conn: sa.Connection, connection: str, stream: str) -> StreamState:
    """Return the saved state of a stream, empty when it never ran."""
    raw = conn.execute(
        sa.select(STATES.c.state).where(
            STATES.c.connection == connection, STATES.c.stream == stream
        )
    ).scalar()
    return StreamState.model_validate(raw) if raw else StreamState()


def save_state(
    conn: sa.Connection, connection: str, stream: str, state: StreamState, now: datetime
) -> None:
    """Save a stream's state in the caller's transaction."""
    upsert(
        conn,
        STATES,
        [
            {
                "connection": connection,
                "stream": stream,
                "state": state.model_dump(mode="json"),
                "updated_at": now,
            }
        ],
        ["connection", "stream"],
    )


class StreamRunner:
    """Runs the streams of one connection into the store."""

    def __init__(
        self,
        engine: sa.Engine,
        clock: Clock,
        name: str,
        connector: Connector[Any],
        config: ConnectionConfig,
        *,
        consumers: Callable[[str], list[str]] = lambda _type: [],
        progress: Callable[[str, int], None] | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.name = name
        self.connector = connector
        self.config = config
        self.consumers = consumers
        self.progress = progress

    async def run(self, stream: Stream, *, full_refresh: bool = False, dry_run: bool = False) -> RunCounts:
        """Read ``stream`` from its saved state; return what was done."""
        with self.engine.begin() as conn:
            state = load_state(conn, self.name, stream.name)
        baseline = state.cursor is None and not state.in_window
        if full_refresh:
            state = StreamState()
        run_id = self._start_run(stream.name) if not dry_run else ""
        counts = RunCounts()
        try:
            async for page in stream.read(state):
                failpoint("after_page_read")
                page_counts = self._take_page(stream, page, baseline=baseline, dry_run=dry_run)
                counts.add(page_counts)
                counts.would_write.extend(page_counts.would_write)
                if self.progress:
                    self.progress(stream.name, len(page.records))
                failpoint("after_page_commit")
        except ServiceSyncError as exc:
            if not dry_run:
                self._finish_run(run_id, counts, "failed", str(exc))
            raise
        if not dry_run:
            self._finish_run(run_id, counts, "ok", None)
        return counts

    def _take_page(self, stream: Stream, page: Page, *, baseline: bool, dry_run: bool) -> RunCounts:
        counts = RunCounts(read=len(page.records), pages=1)
        now = self.clock.now()
        with self.engine.begin() as conn:
            known = self._known_hashes(conn, stream.name, page.records)
            changed = [r for r in page.records if known.get(r.external_id) != r.hash]
            counts.skipped_unchanged = len(page.records) - len(changed)
            if dry_run:
                counts.would_write = [f"{stream.name} {r.external_id}" for r in changed]
                conn.rollback()
                return counts

            taken, quarantined = self._map(stream, changed)
            counts.quarantined = len(quarantined)
            self._quarantine(conn, stream.name, quarantined, now)
            moves = []
            if stream.record_type == "deal":
                deals = [(r.external_id, fields) for r, fields in taken if fields is not None]
                moves = save_deals(conn, self.name, deals, now)
            kept = [r for r, _ in taken]
            self._save_hashes(conn, stream.name, kept, now)
            counts.written = len(kept)
            if not baseline and moves:
                counts.events = append_events(
                    conn,
                    [
                        (
                            "deal_stage_changed",
                            {
                                "connection": self.name,
                                "deal_id": m.deal_id,
                                "external_id": m.external_id,
                                "previous_stage": m.previous,
                                "stage": m.stage,
                            },
                        )
                        for m in moves
                    ],
                    self.consumers,
                    now,
                )
            save_state(conn, self.name, stream.name, page.checkpoint, now)
        return counts

    def _map(
        self, stream: Stream, records: list[Record]
    ) -> tuple[list[tuple[Record, DealFields | None]], list[tuple[Record, str]]]:
        taken: list[tuple[Record, DealFields | None]] = []
        quarantined: list[tuple[Record, str]] = []
        for record in records:
            if record.deleted:
                taken.append((record, None))
                continue
            try:
                fields = self.connector.map_record(stream.name, record.payload)
                if fields is None or stream.record_type != "deal":
                    taken.append((record, None))
                    continue
                mapped = apply_config_mapping(fields, record.payload, self.config.mapping)
                taken.append((record, validate_deal(mapped)))
            except MappingError as exc:
                quarantined.append((record, str(exc)))
        return taken, quarantined

    def _known_hashes(self, conn: sa.Connection, stream: str, records: Any) -> dict[str, str]:
        ids = [r.external_id for r in records]
        found: dict[str, str] = {}
        for start in range(0, len(ids), 500):
            rows = conn.execute(
                sa.select(HASHES.c.external_id, HASHES.c.hash).where(
                    HASHES.c.connection == self.name,
                    HASHES.c.stream == stream,
                    HASHES.c.external_id.in_(ids[start : start + 500]),
                )
            )
            found.update({e: h for e, h in rows})
        return found

    def _save_hashes(self, conn: sa.Connection, stream: str, records: list[Record], now: datetime) -> None:
        upsert(
            conn,
            HASHES,
            [
                {
                    "connection": self.name,
                    "stream": stream,
                    "external_id": r.external_id,
                    "hash": r.hash,
                    "seen_at": now,
                }
                for r in records
            ],
            ["connection", "stream", "external_id"],
        )
        # A record taken in now leaves the quarantine it may have been in.
        if records:
            conn.execute(
                sa.update(QUARANTINE)
                .where(
                    QUARANTINE.c.connection == self.name,
                    QUARANTINE.c.stream == stream,
                    QUARANTINE.c.external_id.in_([r.external_id for r in records]),
                )
                .values(resolved=True)
            )

    def _quarantine(self, conn: sa.Connection, stream: str, items: list[tuple[Record, str]], now: datetime) -> None:
        if not items:
            return
        for record, reason in items:
            logger.warning(
                "%s/%s record %s quarantined: %s", self.name, stream, record.external_id, reason
            )
        upsert(
            conn,
            QUARANTINE,
            [
                {
                    "id": new_id(),
                    "connection": self.name,
                    "stream": stream,
                    "external_id": r.external_id,
                    "payload": dict(r.payload),
                    "reason": reason,
                    "first_seen": now,
                    "last_seen": now,
                    "resolved": False,
                }
                for r, reason in items
            ],
            ["connection", "stream", "external_id"],
            update=["payload", "reason", "last_seen", "resolved"],
        )

    def _start_run(self, stream: str) -> str:
        run_id = new_id()
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(RUNS).values(
                    id=run_id,
                    connection=self.name,
                    stream=stream,
                    status="running",
                    started_at=self.clock.now(),
                )
            )
        return run_id

    def _finish_run(self, run_id: str, counts: RunCounts, status: str, message: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(RUNS)
                .where(RUNS.c.id == run_id)
                .values(
                    status=status,
                    read=counts.read,
                    written=counts.written,
                    skipped_unchanged=counts.skipped_unchanged,
                    quarantined=counts.quarantined,
                    message=message,
                    finished_at=self.clock.now(),
                )
            )

