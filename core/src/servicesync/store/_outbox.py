"""The outbox: domain events written with the data, handed to plugins after.

A claimed delivery is leased: hidden from other claimers until the lease
ends. The claiming process also holds the named lock
``outbox:<plugin>:<event id>`` in the ``locks`` table, which names it; when
that process is gone (killed mid-delivery), a claimer on the same host takes
the delivery at once instead of waiting out the lease.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from servicesync.domain import new_id
from servicesync.store._dialect import table_of, upsert
from servicesync.store._processes import is_gone, this_process
from servicesync.store._tables import LockRow, OutboxDelivery, OutboxEvent

__all__ = [
    "ClaimedEvent",
    "outbox_append",
    "outbox_claim",
    "outbox_complete",
    "outbox_dead",
    "outbox_fail",
    "outbox_release",
]

_events = table_of(OutboxEvent)
_deliveries = table_of(OutboxDelivery)
_locks = table_of(LockRow)
_CLAIM_PREFIX = "outbox:"


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    """An event claimed for one plugin; ``attempts`` counts earlier failures.

    ``last_error`` is the reason of the latest failure; dead letters carry it.
    """

    event_id: str
    plugin: str
    type: str
    payload: Mapping[str, Any]
    attempts: int
    created_at: datetime
    last_error: str | None = None


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
    owner: str | None = None,
) -> list[ClaimedEvent]:
    """Claim due deliveries of ``plugin`` for ``lease``, oldest first.

    A claimed delivery is invisible to other claimers until the lease ends,
    unless the process that claimed it is gone: a delivery whose claimer was
    killed on this host is claimed again at once.

    Args:
        connection: the caller's transaction.
        plugin: the consumer whose deliveries to claim.
        now: the current time.
        lease: how long the claim hides the deliveries.
        limit: the most deliveries to claim.
        owner: the claimer's name (:func:`this_process` when not given).
    """
    query = _claimable(plugin, now, limit)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(of=_deliveries, skip_locked=True)
    claimed = [
        ClaimedEvent(
            event_id=row["event_id"],
            plugin=plugin,
            type=row["type"],
            payload=row["payload"],
            attempts=row["attempts"],
            created_at=row["created_at"],
        )
        for row in connection.execute(query).mappings()
        if row["free"] or is_gone(row["holder"])
    ]
    if claimed:
        _hold(connection, plugin, claimed, now + lease, owner or this_process())
    return claimed


def _claimable(plugin: str, now: datetime, limit: int) -> sa.Select[Any]:
    """Select the due deliveries that are free, or held by a named claimer."""
    free = sa.or_(
        _deliveries.c.claimed_until.is_(None), _deliveries.c.claimed_until <= now
    )
    return (
        sa.select(
            _deliveries.c.event_id,
            _deliveries.c.attempts,
            _events,
            free.label("free"),
            _locks.c.owner.label("holder"),
        )
        .join(_events, _events.c.id == _deliveries.c.event_id)
        .outerjoin(_locks, _locks.c.name == _claim_name_column())
        .where(
            _deliveries.c.plugin == plugin,
            _deliveries.c.status == "pending",
            _deliveries.c.next_attempt_at <= now,
            sa.or_(free, _locks.c.owner.is_not(None)),
        )
        .order_by(_events.c.created_at, _events.c.id)
        .limit(limit)
    )


def _hold(
    connection: sa.Connection,
    plugin: str,
    claimed: Sequence[ClaimedEvent],
    until: datetime,
    owner: str,
) -> None:
    """Lease the deliveries until ``until`` and record ``owner`` as their holder."""
    ids = [c.event_id for c in claimed]
    connection.execute(
        sa.update(_deliveries)
        .where(_deliveries.c.plugin == plugin, _deliveries.c.event_id.in_(ids))
        .values(claimed_until=until)
    )
    locks = [
        {"name": _claim_name(plugin, event_id), "owner": owner, "expires_at": until}
        for event_id in ids
    ]
    upsert(connection, _locks, locks, ["name"])


def outbox_complete(connection: sa.Connection, event_id: str, plugin: str) -> None:
    """Mark the delivery of an event to a plugin as done."""
    connection.execute(
        _delivery_update(event_id, plugin).values(status="done", claimed_until=None)
    )
    _release_claim(connection, event_id, plugin)


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
    _release_claim(connection, event_id, plugin)
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
        sa.select(
            _deliveries.c.plugin,
            _deliveries.c.attempts,
            _deliveries.c.last_error,
            _events,
        )
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
            last_error=row["last_error"],
        )
        for row in connection.execute(query).mappings()
    ]


def outbox_release(connection: sa.Connection, holder_prefix: str) -> int:
    """Give back the claims of holders named ``holder_prefix...``; return how many.

    For a process known dead by other means than :func:`is_gone`, which
    trusts no holder on another host: a daemon whose heartbeats stopped,
    say. Its deliveries become claimable at once instead of at the end of
    their lease.
    """
    held = connection.execute(
        sa.select(_locks.c.name).where(
            _locks.c.name.startswith(_CLAIM_PREFIX, autoescape=True),
            _locks.c.owner.startswith(holder_prefix, autoescape=True),
        )
    ).scalars()
    released = 0
    for name in list(held):
        # The consumer's name may hold colons; an event id never does.
        plugin, _, event_id = name.removeprefix(_CLAIM_PREFIX).rpartition(":")
        freed = _delivery_update(event_id, plugin).values(claimed_until=None)
        connection.execute(freed)
        _release_claim(connection, event_id, plugin)
        released += 1
    return released


def _claim_name(plugin: str, event_id: str) -> str:
    return f"{_CLAIM_PREFIX}{plugin}:{event_id}"


def _claim_name_column() -> sa.ColumnElement[str]:
    """The claim's lock name computed in SQL, to join deliveries to locks."""
    return (
        sa.literal(_CLAIM_PREFIX) + _deliveries.c.plugin + ":" + _deliveries.c.event_id
    )


def _release_claim(connection: sa.Connection, event_id: str, plugin: str) -> None:
    name = _claim_name(plugin, event_id)
    connection.execute(sa.delete(_locks).where(_locks.c.name == name))


def _delivery_update(event_id: str, plugin: str) -> sa.Update:
    return sa.update(_deliveries).where(
        _deliveries.c.event_id == event_id, _deliveries.c.plugin == plugin
    )
