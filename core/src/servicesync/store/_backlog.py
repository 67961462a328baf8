"""How much work is waiting: the outbox, the dead letters, the quarantine."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from servicesync.store._tables import OutboxDelivery, QuarantineRow

__all__ = ["Backlog", "read_backlog"]

_deliveries = OutboxDelivery.__table__  # type: ignore[attr-defined]
_quarantine = QuarantineRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Backlog:
    """Counts of waiting work, by consumer or by connection."""

    outbox: dict[str, int] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    quarantine: dict[str, int] = field(default_factory=dict)


def read_backlog(connection: sa.Connection) -> Backlog:
    """Count pending and dead deliveries by consumer, open quarantine by connection."""
    by_status = connection.execute(
        sa.select(_deliveries.c.plugin, _deliveries.c.status, sa.func.count())
        .where(_deliveries.c.status.in_(("pending", "dead")))
        .group_by(_deliveries.c.plugin, _deliveries.c.status)
    )
    outbox: dict[str, int] = {}
    dead: dict[str, int] = {}
    for consumer, status, count in by_status:
        (outbox if status == "pending" else dead)[consumer] = count
    quarantined = connection.execute(
        sa.select(_quarantine.c.connection, sa.func.count())
        .where(sa.not_(_quarantine.c.resolved))
        .group_by(_quarantine.c.connection)
    )
    return Backlog(outbox, dead, {name: count for name, count in quarantined})
