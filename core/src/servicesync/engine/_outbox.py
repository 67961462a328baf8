"""Domain events through an outbox: written with the change, delivered after.

An event is written in the same transaction as the change it describes, with
one delivery row per consumer (a plugin implementing the event's hook, or a
flow). The :class:`Dispatcher` hands each due delivery to its consumer on its
own; a failing one is retried with exponential backoff and, after
``max_attempts``, marked dead, without holding up any other consumer.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from servicesync._clock import Clock
from servicesync.domain._base import new_id
from servicesync.store._tables import OutboxDelivery, OutboxEvent

__all__ = ["Delivery", "Dispatcher", "Handler", "append_events", "replay"]

logger = logging.getLogger(__name__)

EVENTS = OutboxEvent.__table__  # type: ignore[attr-defined]
DELIVERIES = OutboxDelivery.__table__  # type: ignore[attr-defined]

#: A consumer: called with the event's type, id and payload; raises to fail.
Handler = Callable[[str, str, dict[str, Any]], Awaitable[None]]


def append_events(
    conn: sa.Connection,
    events: Sequence[tuple[str, dict[str, Any]]],
    consumers: Callable[[str], list[str]],
    now: datetime,
) -> int:
    """Write events and their deliveries in the caller's transaction.

    Returns:
        The number of events written.
    """
    event_rows = []
    delivery_rows = []
    for event_type, payload in events:
        event_id = new_id()
        event_rows.append(
            {"id": event_id, "type": event_type, "payload": payload, "created_at": now}
        )
        for consumer in consumers(event_type):
            delivery_rows.append(
                {
                    "event_id": event_id,
                    "plugin": consumer,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                }
            )
    if event_rows:
        conn.execute(sa.insert(EVENTS), event_rows)
    if delivery_rows:
        conn.execute(sa.insert(DELIVERIES), delivery_rows)
    return len(event_rows)


@dataclass(frozen=True)
class Delivery:
    """One event due to one consumer."""

    event_id: str
    consumer: str
    event_type: str
    payload: dict[str, Any]
    attempts: int


class Dispatcher:
    """Hands due deliveries to their consumers, retrying failures with backoff."""

    def __init__(
        self,
        engine: sa.Engine,
        clock: Clock,
        handlers: dict[str, Handler],
        *,
        max_attempts: int = 5,
        base_delay: float = 30.0,
        timeout: float = 60.0,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.handlers = handlers
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.timeout = timeout

    async def run_once(self) -> int:
        """Deliver everything due now; return how many deliveries succeeded."""
        due = self._claim_due()
        by_consumer: dict[str, list[Delivery]] = defaultdict(list)
        for delivery in due:
            by_consumer[delivery.consumer].append(delivery)
        # Consumers run side by side, so one that is slow or failing holds
        # up only its own deliveries.
        results = await asyncio.gather(
            *(self._deliver_all(items) for items in by_consumer.values())
        )
        return sum(results)

    async def drain(self, max_rounds: int = 100) -> int:
        """Deliver until nothing is due now; return the deliveries that succeeded."""
        total = 0
        for _ in range(max_rounds):
            if not self._due_count():
                break
            total += await self.run_once()
        return total

    async def _deliver_all(self, deliveries: list[Delivery]) -> int:
        done = 0
        for delivery in deliveries:
            done += await self._deliver(delivery)
        return done

    async def _deliver(self, delivery: Delivery) -> int:
        handler = self.handlers.get(delivery.consumer)
        if handler is None:
            self._fail(delivery, f"No consumer {delivery.consumer!r} is loaded.")
            return 0
        try:
            await asyncio.wait_for(
                handler(delivery.event_type, delivery.event_id, delivery.payload),
                self.timeout,
            )
        except Exception as exc:  # a consumer's failure is recorded, never raised
            reason = f"{type(exc).__name__}: {exc}"
            logger.warning(
                "Delivery of event %s to %s failed: %s",
                delivery.event_id,
                delivery.consumer,
                reason,
            )
            self._fail(delivery, reason)
            return 0
        self._set(delivery, status="done", last_error=None, claimed_until=None)
        return 1

    def _fail(self, delivery: Delivery, reason: str) -> None:
        attempts = delivery.attempts + 1
        if attempts >= self.max_attempts:
            logger.error(
                "Event %s to %s moved to the dead letters after %d attempts.",
                delivery.event_id,
                delivery.consumer,
                attempts,
            )
            self._set(delivery, status="dead", attempts=attempts, last_error=reason)
            return
        delay = self.base_delay * 2 ** (attempts - 1)
        self._set(
            delivery,
            attempts=attempts,
            last_error=reason,
            claimed_until=None,
            next_attempt_at=self.clock.now() + timedelta(seconds=delay),
        )

    def _set(self, delivery: Delivery, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(DELIVERIES)
                .where(
                    DELIVERIES.c.event_id == delivery.event_id,
                    DELIVERIES.c.plugin == delivery.consumer,
                )
                .values(**values)
            )

    def _due_filter(self, now: datetime) -> Any:
        return sa.and_(
            DELIVERIES.c.status == "pending",
            DELIVERIES.c.next_attempt_at <= now,
            sa.or_(DELIVERIES.c.claimed_until.is_(None), DELIVERIES.c.claimed_until < now),
        )

    def _due_count(self) -> int:
        with self.engine.begin() as conn:
            query = sa.select(sa.func.count()).select_from(DELIVERIES).where(
                self._due_filter(self.clock.now())
            )
            return int(conn.execute(query).scalar() or 0)

    def _claim_due(self, limit: int = 500) -> list[Delivery]:
        now = self.clock.now()
        claimed: list[Delivery] = []
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.select(
                    DELIVERIES.c.event_id,
                    DELIVERIES.c.plugin,
                    DELIVERIES.c.attempts,
                    EVENTS.c.type,
                    EVENTS.c.payload,
                )
                .join(EVENTS, EVENTS.c.id == DELIVERIES.c.event_id)
                .where(self._due_filter(now))
                .order_by(EVENTS.c.created_at, EVENTS.c.id)
                .limit(limit)
            ).all()
            until = now + timedelta(seconds=self.timeout * 2)
            for event_id, consumer, attempts, event_type, payload in rows:
                # Claiming row by row under the filter makes two dispatchers
                # that raced to the same delivery take it only once.
                taken = conn.execute(
                    sa.update(DELIVERIES)
                    .where(
                        DELIVERIES.c.event_id == event_id,
                        DELIVERIES.c.plugin == consumer,
                        self._due_filter(now),
                    )
                    .values(claimed_until=until)
                ).rowcount
                if taken:
                    claimed.append(Delivery(event_id, consumer, event_type, payload, attempts))
        return claimed


def replay(engine: sa.Engine, now: datetime, *, event_id: str | None = None, consumer: str | None = None) -> int:
    """Make dead deliveries due again; return how many.

    Only dead deliveries are touched: a consumer that already succeeded for
    an event is not called again.
    """
    query = sa.update(DELIVERIES).where(DELIVERIES.c.status == "dead")
    if event_id:
        query = query.where(DELIVERIES.c.event_id == event_id)
    if consumer:
        query = query.where(DELIVERIES.c.plugin == consumer)
    with engine.begin() as conn:
        result = conn.execute(
            query.values(status="pending", attempts=0, next_attempt_at=now, claimed_until=None)
        )
        return int(result.rowcount or 0)
