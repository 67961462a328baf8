"""The action journal, run history, quarantine and webhook receipts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from servicesync.store._dialect import insert_for, table_of
from servicesync.store._tables import (
    ActionJournalRow,
    QuarantineRow,
    RunRow,
    WebhookReceipt,
)

__all__ = [
    "JournalEntry",
    "RunCounts",
    "finish_run",
    "interrupt_runs",
    "journal_begin",
    "journal_find",
    "journal_pending",
    "journal_settle",
    "journal_supersede",
    "put_quarantine",
    "record_receipt",
    "start_run",
]

_journal = table_of(ActionJournalRow)
_runs = table_of(RunRow)
_quarantine = table_of(QuarantineRow)
_receipts = table_of(WebhookReceipt)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """An action attempt as the journal holds it.

    Attributes:
        status: ``pending`` (the call may or may not have happened),
            ``confirmed`` (``result`` holds what it made), ``failed``, or
            ``superseded`` (left pending, then overtaken: what it was to
            bring about was found done; ``error`` says so).
    """

    dedup_key: str
    connection: str
    action: str
    status: str
    params: Mapping[str, Any]
    result: Mapping[str, Any] | None
    error: str | None
    attempts: int


@dataclass(frozen=True, slots=True)
class RunCounts:
    """What one run did, counted."""

    read: int = 0
    written: int = 0
    skipped_unchanged: int = 0
    quarantined: int = 0
    errors: int = 0


def journal_find(connection: sa.Connection, dedup_key: str) -> JournalEntry | None:
    """Return the journal entry of ``dedup_key``, or ``None``."""
    query = sa.select(_journal).where(_journal.c.dedup_key == dedup_key)
    row = connection.execute(query).mappings().one_or_none()
    return None if row is None else _entry(row)


def _entry(row: sa.RowMapping) -> JournalEntry:
    return JournalEntry(
        dedup_key=row["dedup_key"],
        connection=row["connection"],
        action=row["action"],
        status=row["status"],
        params=row["params"],
        result=row["result"],
        error=row["error"],
        attempts=row["attempts"],
    )


def journal_pending(
    connection: sa.Connection, prefix: str, action: str | None = None
) -> list[JournalEntry]:
    """Return the pending entries whose keys start with ``prefix``, oldest first."""
    query = (
        sa.select(_journal)
        .where(
            _journal.c.dedup_key.startswith(prefix, autoescape=True),
            _journal.c.status == "pending",
        )
        .order_by(_journal.c.created_at, _journal.c.dedup_key)
    )
    if action is not None:
        query = query.where(_journal.c.action == action)
    return [_entry(row) for row in connection.execute(query).mappings()]


def journal_begin(
    connection: sa.Connection,
    dedup_key: str,
    source: str,
    action: str,
    params: Mapping[str, Any],
    now: datetime,
) -> JournalEntry:
    """Record an attempt before the call; return the entry as it now stands.

    A confirmed entry is returned untouched: the caller must not call again.
    Otherwise the entry is (again) pending and its attempts count grows.
    """
    statement = insert_for(connection, _journal).on_conflict_do_nothing(
        index_elements=["dedup_key"]
    )
    connection.execute(
        statement,
        {
            "dedup_key": dedup_key,
            "connection": source,
            "action": action,
            "status": "pending",
            "params": dict(params),
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        },
    )
    bump = (
        sa.update(_journal)
        .where(_journal.c.dedup_key == dedup_key, _journal.c.status != "confirmed")
        .values(status="pending", attempts=_journal.c.attempts + 1, updated_at=now)
    )
    connection.execute(bump)
    entry = journal_find(connection, dedup_key)
    assert entry is not None  # inserted above in this transaction
    return entry


def journal_settle(
    connection: sa.Connection,
    dedup_key: str,
    now: datetime,
    *,
    result: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """Mark an entry confirmed with ``result``, or failed with ``error``."""
    status = "failed" if error is not None else "confirmed"
    statement = (
        sa.update(_journal)
        .where(_journal.c.dedup_key == dedup_key)
        .values(
            status=status,
            result=dict(result) if result is not None else None,
            error=error,
            updated_at=now,
        )
    )
    if connection.execute(statement).rowcount != 1:
        msg = f"The action journal has no entry for the key {dedup_key!r}."
        raise KeyError(msg)


def journal_supersede(
    connection: sa.Connection, prefix: str, note: str, now: datetime
) -> int:
    """Mark the pending entries whose keys start with ``prefix`` superseded.

    For a caller that has seen for itself that what those writes were to
    bring about holds now, so that none of them is waiting for anything.
    Returns how many were marked.
    """
    statement = (
        sa.update(_journal)
        .where(
            _journal.c.dedup_key.startswith(prefix, autoescape=True),
            _journal.c.status == "pending",
        )
        .values(status="superseded", error=note, updated_at=now)
    )
    return int(connection.execute(statement).rowcount)


def start_run(
    connection: sa.Connection,
    run_id: str,
    source: str,
    stream: str | None,
    now: datetime,
    trigger: str | None = None,
    worker: str | None = None,
) -> None:
    """Record that a run started, what started it and which process runs it."""
    connection.execute(
        sa.insert(_runs).values(
            id=run_id,
            connection=source,
            stream=stream,
            trigger=trigger,
            worker=worker,
            status="running",
            read=0,
            written=0,
            skipped_unchanged=0,
            quarantined=0,
            errors=0,
            started_at=now,
        )
    )


def interrupt_runs(
    connection: sa.Connection, source: str | None, now: datetime, note: str
) -> int:
    """Mark runs still shown as running as interrupted; return how many."""
    statement = (
        sa.update(_runs)
        .where(_runs.c.status == "running")
        .values(status="interrupted", finished_at=now, message=note)
    )
    if source is not None:
        statement = statement.where(_runs.c.connection == source)
    return connection.execute(statement).rowcount


def finish_run(
    connection: sa.Connection,
    run_id: str,
    status: str,
    counts: RunCounts,
    now: datetime,
    message: str | None = None,
) -> None:
    """Record how a run ended and what it counted."""
    connection.execute(
        sa.update(_runs)
        .where(_runs.c.id == run_id)
        .values(
            status=status,
            read=counts.read,
            written=counts.written,
            skipped_unchanged=counts.skipped_unchanged,
            quarantined=counts.quarantined,
            errors=counts.errors,
            message=message,
            finished_at=now,
        )
    )


def put_quarantine(
    connection: sa.Connection,
    row: dict[str, Any],
    now: datetime,
) -> None:
    """Keep a record aside with the reason; seen again, it counts a retry."""
    statement = insert_for(connection, _quarantine).values(
        **row, first_seen=now, last_seen=now, retried=0, resolved=False
    )
    statement = statement.on_conflict_do_update(
        index_elements=["connection", "stream", "external_id"],
        set_={
            "payload": statement.excluded.payload,
            "reason": statement.excluded.reason,
            "last_seen": now,
            "retried": _quarantine.c.retried + 1,
            "resolved": False,
        },
    )
    connection.execute(statement)


def record_receipt(
    connection: sa.Connection, source: str, delivery_key: str, now: datetime
) -> bool:
    """Record a webhook delivery; false when it was received before."""
    statement = (
        insert_for(connection, _receipts)
        .values(connection=source, delivery_key=delivery_key, received_at=now)
        .on_conflict_do_nothing(index_elements=["connection", "delivery_key"])
        .returning(_receipts.c.delivery_key)
    )
    return connection.execute(statement).first() is not None
