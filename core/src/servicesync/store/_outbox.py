"""The outbox: domain events written with the data, handed to plugins after."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from servicesync.domain import new_id
from servicesync.store._dialect import table_of
from servicesync.store._tables import OutboxDelivery, OutboxEvent

__all__ = [
    "ClaimedEvent",
    "outbox_append",
    "outbox_claim",
    "outbox_complete",
    "outbox_dead",
    "outbox_fail",
]

_events = table_of(OutboxEvent)
_deliveries = table_of(OutboxDelivery)


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    """An event claimed for one plugin; ``attempts`` counts earlier failures."""

    event_id: str
    plugin: str
    type: str
    payload: Mapping[str, Any]
    attempts: int
    created_at: datetime


def outbox_append(
    connection: sa.Connection,
    event_type: str,
    payload: Mapping[str, Any],
    plugins: Sequence[str],
    now: datetime,
) -> str:
    """Add an event with one pending delivery per plugin; return its id."""
    event_id = new_id()
    connection.execute(
        sa.insert(_events).values(
            id=event_id, type=event_type, payload=dict(payload), created_at=now
        )
    )
    if plugins:
        rows = [
            {
                "event_id": event_id,
                "plugin": plugin,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
            }
            for plugin in dict.fromkeys(plugins)
        ]
        connection.execute(sa.insert(_deliveries), rows)
    return event_id


def outbox_claim(
    connection: sa.Connection,
    plugin: str,
    now: datetime,
    lease: timedelta,
    limit: int = 100,
) -> list[ClaimedEvent]:
    """Claim due deliveries of ``plugin`` for ``lease``, oldest first.

    A claimed delivery is invisible to other claimers until the lease ends,
    so a worker that dies mid-delivery only delays the event.
    """
    free = sa.or_(
        _deliveries.c.claimed_until.is_(None), _deliveries.c.claimed_until <= now
    )
    query = (
        sa.select(_deliveries.c.event_id, _deliveries.c.attempts, _events)
        .join(_events, _events.c.id == _deliveries.c.event_id)
        .where(
            _deliveries.c.plugin == plugin,
            _deliveries.c.status == "pending",
            _deliveries.c.next_attempt_at <= now,
            free,
        )
        .order_by(_events.c.created_at, _events.c.id)
        .limit(limit)
    )
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(of=_deliveries, skip_locked=True)
    rows = connection.execute(query).mappings().all()
    claimed = [
        ClaimedEvent(
            event_id=row["event_id"],
            plugin=plugin,
            type=row["type"],
            payload=row["payload"],
            attempts=row["attempts"],
            created_at=row["created_at"],
        )
        for row in rows
    ]
    if claimed:
        connection.execute(
            sa.update(_deliveries)
            .where(
                _deliveries.c.plugin == plugin,
                _deliveries.c.event_id.in_([c.event_id for c in claimed]),
            )
            .values(claimed_until=now + lease)
        )
    return claimed


def outbox_complete(connection: sa.Connection, event_id: str, plugin: str) -> None:
    """Mark the delivery of an event to a plugin as done."""
    connection.execute(
        _delivery_update(event_id, plugin).values(status="done", claimed_until=None)
    )


def outbox_fail(
    connection: sa.Connection,
    event_id: str,
    plugin: str,
    error: str,
    retry_at: datetime,
    max_attempts: int,
) -> bool:
    """Count a failed delivery; retry at ``retry_at`` or mark it dead.

    Returns:
        True when the delivery is now dead (a dead letter).
    """
    attempts = _deliveries.c.attempts + 1
    connection.execute(
        _delivery_update(event_id, plugin).values(
            attempts=attempts,
            last_error=error,
            next_attempt_at=retry_at,
            claimed_until=None,
            status=sa.case((attempts >= max_attempts, "dead"), else_="pending"),
        )
    )
    query = sa.select(_deliveries.c.status).where(
        _deliveries.c.event_id == event_id, _deliveries.c.plugin == plugin
    )
    status: str = connection.execute(query).scalar_one()
    return status == "dead"


def outbox_dead(
    connection: sa.Connection, plugin: str | None = None
) -> list[ClaimedEvent]:
    """Return the dead letters, of one plugin or of all."""
    query = (
        sa.select(_deliveries.c.plugin, _deliveries.c.attempts, _events)
        .join(_events, _events.c.id == _deliveries.c.event_id)
        .where(_deliveries.c.status == "dead")
        .order_by(_events.c.created_at)
    )
    if plugin is not None:
        query = query.where(_deliveries.c.plugin == plugin)
    return [
        ClaimedEvent(
            event_id=row["id"],
            plugin=row["plugin"],
            type=row["type"],
            payload=row["payload"],
            attempts=row["attempts"],
            created_at=row["created_at"],
        )
        for row in connection.execute(query).mappings()
    ]


def _delivery_update(event_id: str, plugin: str) -> sa.Update:
    return sa.update(_deliveries).where(
        _deliveries.c.event_id == event_id, _deliveries.c.plugin == plugin
    )
