"""The :class:`Store` facade: one object the engine and the commands share."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from servicesync._clock import Clock, SystemClock
from servicesync.contract import Record, RegisteredWebhook, StreamState
from servicesync.domain import new_id
from servicesync.errors import StoreError
from servicesync.store import (
    _backlog,
    _controls,
    _journal,
    _ledger,
    _links,
    _outbox,
    _secrets,
    _webhooks,
)
from servicesync.store._engine import make_engine, redact_url
from servicesync.store._journal import JournalEntry, RunCounts
from servicesync.store._ledger import StreamPosition
from servicesync.store._migrate import is_current, upgrade
from servicesync.store._outbox import ClaimedEvent
from servicesync.store._shared import SQLBudgetStore, SQLNamedLocks, SQLPluginState
from servicesync.store._tables import QuarantineRow, RunRow

__all__ = ["Store", "open_store"]

logger = logging.getLogger(__name__)


def open_store(
    url: str,
    *,
    clock: Clock | None = None,
    secret_key: str | None = None,
    key_file: Path | None = None,
    migrate: bool = True,
    connect_args: Mapping[str, Any] | None = None,
) -> Store:
    """Open the store at ``url``, migrating it to the current schema first.

    Raises:
        StoreError: the database cannot be reached, or is behind and
            ``migrate`` is false.
    """
    engine = make_engine(url, **dict(connect_args or {}))
    try:
        if not is_current(engine):
            if not migrate:
                msg = (
                    f"The store {redact_url(url)!r} is not at the current schema; "
                    "run `servicesync db upgrade`."
                )
                raise StoreError(msg)
            upgrade(engine)
    except sa.exc.OperationalError as exc:
        engine.dispose()
        msg = f"The store {redact_url(url)!r} cannot be opened: {exc.orig}."
        raise StoreError(msg) from exc
    box = _secrets.SecretBox(secret_key, key_file)
    return Store(engine, clock=clock or SystemClock(), secrets=box)


class Store:
    """The database behind servicesync, and the helpers the engine uses.

    Helpers that take a ``connection`` run in the caller's transaction, so
    data, links, hashes, stream state and outbox events commit together::

        with store.transaction() as tx:
            store.upsert_linked(tx, "crm", "deal", rows)
            store.set_stream_state(tx, "crm", "deals", page.checkpoint)

    The other helpers open and commit a short transaction of their own.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock | None = None,
        secrets: _secrets.SecretBox | None = None,
    ) -> None:
        self.engine = engine
        self.clock: Clock = clock or SystemClock()
        self.secrets = secrets or _secrets.SecretBox()

    @property
    def url(self) -> sa.URL:
        """The database URL; printing it masks the password."""
        return self.engine.url

    def __repr__(self) -> str:
        return f"Store({redact_url(self.engine.url)!r})"

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield an ORM session in a transaction, committed when the block ends."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """Yield a Core connection in a transaction, committed when the block ends."""
        with self.engine.begin() as connection:
            yield connection

    def now(self) -> datetime:
        """The current time on the store's clock."""
        return self.clock.now()

    # -- links, data, hashes and stream state (caller's transaction) --------

    def link_ids(
        self, tx: sa.Connection, connection: str, record_type: str, ids: Sequence[str]
    ) -> dict[str, str]:
        """Return (creating where missing) the internal id of each external id."""
        return _links.link_ids(tx, connection, record_type, ids, self.now())

    def upsert_linked(
        self,
        tx: sa.Connection,
        connection: str,
        record_type: str,
        rows: Sequence[tuple[str, SQLModel]],
    ) -> dict[str, str]:
        """Insert or update domain rows of one model by their external id."""
        return _links.upsert_linked(tx, connection, record_type, rows, self.now())

    def changed_records(
        self, tx: sa.Connection, connection: str, stream: str, records: Sequence[Record]
    ) -> list[Record]:
        """Drop the records whose payload is the same as last time."""
        return _links.changed_records(tx, connection, stream, records, self.now())

    def remember_hashes(
        self, tx: sa.Connection, connection: str, stream: str, records: Sequence[Record]
    ) -> None:
        """Remember the payload hashes of records just taken in."""
        _links.remember_hashes(tx, connection, stream, records, self.now())

    def get_stream_state(
        self, tx: sa.Connection, connection: str, stream: str
    ) -> StreamState:
        """Return where a stream stands (empty when never read)."""
        return _links.get_stream_state(tx, connection, stream)

    def set_stream_state(
        self, tx: sa.Connection, connection: str, stream: str, state: StreamState
    ) -> None:
        """Store where a stream stands, with the data of the same page."""
        _links.set_stream_state(tx, connection, stream, state, self.now())

    def outbox_append(
        self,
        tx: sa.Connection,
        event_type: str,
        payload: Mapping[str, Any],
        plugins: Sequence[str],
    ) -> str:
        """Add a domain event for ``plugins``, in the transaction of the change."""
        return _outbox.outbox_append(tx, event_type, payload, plugins, self.now())

    def put_quarantine(
        self,
        tx: sa.Connection,
        connection: str,
        stream: str,
        external_id: str,
        payload: Mapping[str, Any],
        reason: str,
    ) -> None:
        """Keep a raw record aside with the reason it was refused."""
        row = {
            "id": new_id(),
            "connection": connection,
            "stream": stream,
            "external_id": external_id,
            "payload": dict(payload),
            "reason": reason,
        }
        _journal.put_quarantine(tx, row, self.now())

    # -- short transactions of their own ------------------------------------

    def journal_begin(
        self, dedup_key: str, connection: str, action: str, params: Mapping[str, Any]
    ) -> JournalEntry:
        """Record an action attempt before calling the service."""
        with self.transaction() as tx:
            return _journal.journal_begin(
                tx, dedup_key, connection, action, params, self.now()
            )

    def journal_confirm(self, dedup_key: str, result: Mapping[str, Any]) -> None:
        """Record what an action created, once the service confirmed it."""
        with self.transaction() as tx:
            _journal.journal_settle(tx, dedup_key, self.now(), result=result)

    def journal_fail(self, dedup_key: str, error: str) -> None:
        """Record that an action failed for certain (nothing was created)."""
        with self.transaction() as tx:
            _journal.journal_settle(tx, dedup_key, self.now(), error=error)

    def journal_pending(
        self, prefix: str, *, action: str | None = None
    ) -> list[JournalEntry]:
        """Return the pending entries under ``prefix`` (of ``action``), oldest first."""
        with self.transaction() as tx:
            return _journal.journal_pending(tx, prefix, action)

    def journal_supersede(self, prefix: str, note: str) -> int:
        """Mark pending entries under ``prefix`` overtaken; return how many."""
        with self.transaction() as tx:
            return _journal.journal_supersede(tx, prefix, note, self.now())

    def journal_find(self, dedup_key: str) -> JournalEntry | None:
        """Return the journal entry of a deduplication key."""
        with self.transaction() as tx:
            return _journal.journal_find(tx, dedup_key)

    def outbox_claim(
        self,
        plugin: str,
        lease: timedelta,
        limit: int = 100,
        *,
        owner: str | None = None,
    ) -> list[ClaimedEvent]:
        """Claim due events for ``plugin`` for the length of ``lease``.

        ``owner`` names the claimer (this process when not given); events
        held by a claimer that is gone are claimed again at once.
        """
        with self.transaction() as tx:
            return _outbox.outbox_claim(tx, plugin, self.now(), lease, limit, owner)

    def outbox_complete(self, event_id: str, plugin: str) -> None:
        """Mark an event as delivered to ``plugin``."""
        with self.transaction() as tx:
            _outbox.outbox_complete(tx, event_id, plugin)

    def outbox_fail(
        self,
        event_id: str,
        plugin: str,
        error: str,
        retry_in: timedelta,
        max_attempts: int = 5,
    ) -> bool:
        """Count a failed delivery; return true when it became a dead letter."""
        retry_at = self.now() + retry_in
        with self.transaction() as tx:
            return _outbox.outbox_fail(
                tx, event_id, plugin, error, retry_at, max_attempts
            )

    def dead_letters(self, plugin: str | None = None) -> list[ClaimedEvent]:
        """Return the deliveries that failed too often."""
        with self.transaction() as tx:
            return _outbox.outbox_dead(tx, plugin)

    # -- what operators read and reset ---------------------------------------

    def stream_positions(self, connection: str | None = None) -> list[StreamPosition]:
        """Return where each stream stands, of every connection or of one."""
        with self.transaction() as tx:
            return _ledger.stream_positions(tx, connection)

    def reset_streams(self, connection: str, stream: str | None = None) -> list[str]:
        """Forget where streams stand and which payloads they saw.

        The next run of a reset stream reads everything again and is a
        baseline: it fires no flows. Returns the streams that were reset.
        """
        with self.transaction() as tx:
            return _ledger.reset_streams(tx, connection, stream)

    def recent_runs(
        self, connection: str | None = None, limit: int = 20
    ) -> list[RunRow]:
        """Return the latest runs, newest first."""
        with self.transaction() as tx:
            return _ledger.recent_runs(tx, connection, limit)

    def last_runs(
        self, connection: str | None = None
    ) -> dict[tuple[str, str | None], RunRow]:
        """Return the latest run of each stream, by connection and stream."""
        with self.transaction() as tx:
            return _ledger.last_runs(tx, connection)

    def quarantined(self, connection: str | None = None) -> list[QuarantineRow]:
        """Return the records still in quarantine."""
        with self.transaction() as tx:
            return _ledger.quarantined(tx, connection)

    def known_records(
        self, connection: str, stream: str, external_ids: Sequence[str]
    ) -> set[str]:
        """Return which of ``external_ids`` the stream has taken in before."""
        with self.transaction() as tx:
            return _ledger.known_records(tx, connection, stream, external_ids)

    def start_run(
        self,
        connection: str,
        stream: str | None = None,
        *,
        trigger: str | None = None,
        worker: str | None = None,
    ) -> str:
        """Record the start of a run and what triggered it; return its id."""
        run_id = new_id()
        with self.transaction() as tx:
            _journal.start_run(
                tx, run_id, connection, stream, self.now(), trigger, worker
            )
        return run_id

    def finish_run(
        self, run_id: str, status: str, counts: RunCounts, message: str | None = None
    ) -> None:
        """Record the end of a run with its counts."""
        with self.transaction() as tx:
            _journal.finish_run(tx, run_id, status, counts, self.now(), message)

    def backlog(self) -> _backlog.Backlog:
        """Count the waiting work: outbox, dead letters, quarantine."""
        with self.transaction() as tx:
            return _backlog.read_backlog(tx)

    def control(self, connection: str) -> _controls.Control:
        """Return the operator's switches on ``connection``."""
        with self.transaction() as tx:
            return _controls.get_control(tx, connection)

    def controls(self) -> list[_controls.Control]:
        """Return every connection whose switches were ever set."""
        with self.transaction() as tx:
            return _controls.list_controls(tx)

    def set_control(
        self,
        connection: str,
        *,
        paused: bool | None = None,
        read_only: bool | None = None,
        note: str | None = None,
    ) -> _controls.Control:
        """Pause or resume ``connection``, or make it read-only or writable."""
        with self.transaction() as tx:
            return _controls.set_control(
                tx,
                connection,
                self.now(),
                paused=paused,
                read_only=read_only,
                note=note,
            )

    def interrupt_runs(self, connection: str | None, *, note: str) -> int:
        """Close the runs of a process that died, so none shows as running."""
        with self.transaction() as tx:
            return _journal.interrupt_runs(tx, connection, self.now(), note)

    def outbox_release(self, holder_prefix: str) -> int:
        """Give back the outbox claims of a process known dead; return how many."""
        with self.transaction() as tx:
            return _outbox.outbox_release(tx, holder_prefix)

    def record_receipt(self, connection: str, delivery_key: str) -> bool:
        """Record a webhook delivery; false when it is a replay."""
        with self.transaction() as tx:
            return _journal.record_receipt(tx, connection, delivery_key, self.now())

    # -- webhooks registered at services -------------------------------------

    def save_webhooks(
        self, connection: str, webhooks: Sequence[RegisteredWebhook]
    ) -> None:
        """Keep what a service registered; secrets are stored encrypted."""
        with self.transaction() as tx:
            _webhooks.save_webhooks(tx, self.secrets, connection, webhooks, self.now())

    def webhooks(self, connection: str) -> list[_webhooks.StoredWebhook]:
        """Return the webhooks registered for ``connection``, secrets left out."""
        with self.transaction() as tx:
            return _webhooks.list_webhooks(tx, connection)

    def webhook_secret(self, connection: str, external_id: str) -> str | None:
        """Return one webhook's secret, decrypted, or ``None`` without one."""
        with self.transaction() as tx:
            return _webhooks.webhook_secret(tx, self.secrets, connection, external_id)

    def renew_webhook(
        self, connection: str, external_id: str, expires_at: datetime | None
    ) -> None:
        """Record when a renewed webhook expires now."""
        with self.transaction() as tx:
            _webhooks.set_expiry(tx, connection, external_id, expires_at)

    def forget_webhooks(self, connection: str, external_ids: Sequence[str]) -> int:
        """Forget webhooks the service no longer holds; return how many went."""
        with self.transaction() as tx:
            return _webhooks.delete_webhooks(tx, connection, external_ids)

    # -- the protocols handed to connectors ---------------------------------

    def vault(self, connection: str) -> _secrets.SQLCredentialVault:
        """The encrypted credential vault of ``connection``."""
        return _secrets.SQLCredentialVault(
            self.engine, self.secrets, connection, self.now
        )

    def plugin_state(self, connection: str) -> SQLPluginState:
        """The private key-value store of ``connection``."""
        return SQLPluginState(self.engine, connection)

    def budgets(self) -> SQLBudgetStore:
        """Rate budgets shared by every process using this database."""
        return SQLBudgetStore(self.engine)

    def locks(self) -> SQLNamedLocks:
        """Locks shared by every process using this database."""
        return SQLNamedLocks(self.engine, self.now)
