"""Reading and resetting the sync ledger for operators.

Where each stream stands, the history of runs, the records in quarantine:
what ``servicesync state``, ``runs`` and ``quarantine`` show, and the one
write an operator makes here, forgetting where streams stand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from servicesync.contract import StreamState
from servicesync.store._dialect import table_of
from servicesync.store._tables import (
    QuarantineRow,
    RecordHash,
    RunRow,
    StreamStateRow,
)

__all__ = [
    "StreamPosition",
    "known_records",
    "last_runs",
    "quarantined",
    "recent_runs",
    "reset_streams",
    "stream_positions",
]

_states = table_of(StreamStateRow)
_hashes = table_of(RecordHash)
_runs = table_of(RunRow)
_quarantine = table_of(QuarantineRow)


@dataclass(frozen=True, slots=True)
class StreamPosition:
    """Where one stream of one connection stands, and since when."""

    connection: str
    stream: str
    state: StreamState
    updated_at: datetime


def stream_positions(
    connection: sa.Connection, source: str | None = None
) -> list[StreamPosition]:
    """Return the stored state of every stream, or of one connection's streams."""
    query = sa.select(_states).order_by(_states.c.connection, _states.c.stream)
    if source is not None:
        query = query.where(_states.c.connection == source)
    return [
        StreamPosition(
            connection=row["connection"],
            stream=row["stream"],
            state=StreamState.model_validate(row["state"]),
            updated_at=row["updated_at"],
        )
        for row in connection.execute(query).mappings()
    ]


def reset_streams(
    connection: sa.Connection, source: str, stream: str | None = None
) -> list[str]:
    """Delete the state and payload hashes of a connection's streams.

    Args:
        source: the connection.
        stream: one stream, or ``None`` for all of the connection's streams.

    Returns:
        The names of the streams that had a state or hashes, sorted.
    """
    found: set[str] = set()
    for table in (_states, _hashes):
        where = [table.c.connection == source]
        if stream is not None:
            where.append(table.c.stream == stream)
        names = connection.execute(sa.select(table.c.stream).where(*where).distinct())
        found.update(names.scalars())
        connection.execute(sa.delete(table).where(*where))
    return sorted(found)


def recent_runs(
    connection: sa.Connection, source: str | None = None, limit: int = 20
) -> list[RunRow]:
    """Return the latest runs, newest first, of every connection or of one."""
    query = (
        sa.select(_runs)
        .order_by(_runs.c.started_at.desc(), _runs.c.id.desc())
        .limit(limit)
    )
    if source is not None:
        query = query.where(_runs.c.connection == source)
    rows = connection.execute(query).mappings()
    return [RunRow.model_validate(dict(row)) for row in rows]


def last_runs(
    connection: sa.Connection, source: str | None = None
) -> dict[tuple[str, str | None], RunRow]:
    """Return the latest run of each stream, keyed by connection and stream."""
    rank = (
        sa.func.row_number()
        .over(
            partition_by=(_runs.c.connection, _runs.c.stream),
            order_by=(_runs.c.started_at.desc(), _runs.c.id.desc()),
        )
        .label("rank")
    )
    ranked = sa.select(_runs, rank)
    if source is not None:
        ranked = ranked.where(_runs.c.connection == source)
    latest = ranked.subquery()
    query = sa.select(*(latest.c[c.name] for c in _runs.c)).where(latest.c.rank == 1)
    runs = [
        RunRow.model_validate(dict(row)) for row in connection.execute(query).mappings()
    ]
    return {(run.connection, run.stream): run for run in runs}


def quarantined(
    connection: sa.Connection, source: str | None = None
) -> list[QuarantineRow]:
    """Return the records still in quarantine, of every connection or of one."""
    query = (
        sa.select(_quarantine)
        .where(_quarantine.c.resolved.is_(False))
        .order_by(
            _quarantine.c.connection,
            _quarantine.c.stream,
            _quarantine.c.first_seen,
            _quarantine.c.external_id,
        )
    )
    if source is not None:
        query = query.where(_quarantine.c.connection == source)
    rows = connection.execute(query).mappings()
    return [QuarantineRow.model_validate(dict(row)) for row in rows]


def known_records(
    connection: sa.Connection, source: str, stream: str, external_ids: Sequence[str]
) -> set[str]:
    """Return which of ``external_ids`` the stream has taken in before."""
    known: set[str] = set()
    # Chunks keep the IN list under SQLite's limit on bound parameters.
    for start in range(0, len(external_ids), 500):
        query = sa.select(_hashes.c.external_id).where(
            _hashes.c.connection == source,
            _hashes.c.stream == stream,
            _hashes.c.external_id.in_(external_ids[start : start + 500]),
        )
        known.update(connection.execute(query).scalars())
    return known
