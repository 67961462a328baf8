"""External links, domain upserts by link, payload hashes and stream state."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from servicesync.contract import Record, StreamState
from servicesync.domain import new_id
from servicesync.store._dialect import insert_for, table_of, upsert
from servicesync.store._tables import ExternalLink, RecordHash, StreamStateRow

__all__ = [
    "changed_records",
    "get_stream_state",
    "link_ids",
    "remember_hashes",
    "set_stream_state",
    "upsert_linked",
]

_links = table_of(ExternalLink)
_hashes = table_of(RecordHash)
_states = table_of(StreamStateRow)


def link_ids(
    connection: sa.Connection,
    source: str,
    record_type: str,
    external_ids: Iterable[str],
    now: datetime,
) -> dict[str, str]:
    """Return the internal id of each external id, creating missing links.

    Concurrent callers that link the same external id at once all get the id
    of the one link that won the insert.
    """
    wanted = sorted(set(external_ids))
    found = _find_links(connection, source, record_type, wanted)
    missing = [external_id for external_id in wanted if external_id not in found]
    if missing:
        rows = [
            {
                "id": new_id(),
                "connection": source,
                "record_type": record_type,
                "external_id": external_id,
                "internal_id": new_id(),
                "created_at": now,
            }
            for external_id in missing
        ]
        statement = insert_for(connection, _links).on_conflict_do_nothing(
            index_elements=["connection", "record_type", "external_id"]
        )
        connection.execute(statement, rows)
        found.update(_find_links(connection, source, record_type, missing))
    return found


def _find_links(
    connection: sa.Connection, source: str, record_type: str, external_ids: list[str]
) -> dict[str, str]:
    found: dict[str, str] = {}
    # Chunks keep the IN list under SQLite's limit on bound parameters.
    for start in range(0, len(external_ids), 500):
        chunk = external_ids[start : start + 500]
        query = sa.select(_links.c.external_id, _links.c.internal_id).where(
            _links.c.connection == source,
            _links.c.record_type == record_type,
            _links.c.external_id.in_(chunk),
        )
        found.update({row[0]: row[1] for row in connection.execute(query)})
    return found


def upsert_linked(
    connection: sa.Connection,
    source: str,
    record_type: str,
    rows: Sequence[tuple[str, SQLModel]],
    now: datetime,
) -> dict[str, str]:
    """Write domain rows keyed by their external id; return external to internal id.

    Every row must be an instance of the same table model. Its ``id`` is
    replaced by the id the link gives, so a record read twice updates the row
    it made the first time.
    """
    if not rows:
        return {}
    table = table_of(type(rows[0][1]))
    ids = link_ids(connection, source, record_type, (ext for ext, _ in rows), now)
    values: dict[str, dict[str, Any]] = {}
    for external_id, model in rows:
        if table_of(type(model)) is not table:
            msg = (
                f"upsert_linked got rows of {table.name!r} and {type(model).__name__}."
            )
            raise TypeError(msg)
        values[external_id] = {**model.model_dump(), "id": ids[external_id]}
    upsert(connection, table, list(values.values()), ["id"])
    return ids


def changed_records(
    connection: sa.Connection, source: str, stream: str, records: Sequence[Record]
) -> list[Record]:
    """Return the records whose payload hash differs from the one last seen."""
    ids = [record.external_id for record in records]
    known: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        query = sa.select(_hashes.c.external_id, _hashes.c.hash).where(
            _hashes.c.connection == source,
            _hashes.c.stream == stream,
            _hashes.c.external_id.in_(ids[start : start + 500]),
        )
        known.update({row[0]: row[1] for row in connection.execute(query)})
    return [r for r in records if r.deleted or known.get(r.external_id) != r.hash]


def remember_hashes(
    connection: sa.Connection,
    source: str,
    stream: str,
    records: Sequence[Record],
    now: datetime,
) -> None:
    """Store the payload hash of each record as the last one seen."""
    rows = {
        record.external_id: {
            "connection": source,
            "stream": stream,
            "external_id": record.external_id,
            "hash": record.hash,
            "seen_at": now,
        }
        for record in records
    }
    upsert(
        connection,
        _hashes,
        list(rows.values()),
        ["connection", "stream", "external_id"],
    )


def get_stream_state(
    connection: sa.Connection, source: str, stream: str
) -> StreamState:
    """Return the stored state of a stream, or an empty one."""
    query = sa.select(_states.c.state).where(
        _states.c.connection == source, _states.c.stream == stream
    )
    document = connection.execute(query).scalar_one_or_none()
    return StreamState() if document is None else StreamState.model_validate(document)


def set_stream_state(
    connection: sa.Connection,
    source: str,
    stream: str,
    state: StreamState,
    now: datetime,
) -> None:
    """Store the state of a stream, in the caller's transaction."""
    row = {
        "connection": source,
        "stream": stream,
        "state": state.model_dump(mode="json"),
        "updated_at": now,
    }
    upsert(connection, _states, [row], ["connection", "stream"])
