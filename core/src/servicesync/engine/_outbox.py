"""Handing domain events from the outbox to their consumers.

Events are written by the runner in the same transaction as the change they
describe, with one delivery per consumer (a plugin implementing the event's
hook, or a flow). The :class:`Dispatcher` hands each due delivery to its
consumer on its own: a failing one is retried with exponential backoff and,
after ``max_attempts``, becomes a dead letter, while the other consumers go
on undelayed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from servicesync.store import ClaimedEvent, OutboxDelivery, Store
from servicesync.store._dialect import table_of

__all__ = ["Dispatcher", "Handler", "replay"]

logger = logging.getLogger(__name__)

#: A consumer: called with the event's type, id and payload; raises to fail.
Handler = Callable[[str, str, dict[str, Any]], Awaitable[None]]


class Dispatcher:
    """Hands due deliveries to their consumers, retrying failures with backoff.

    Args:
        store: the store holding the outbox.
        handlers: each consumer's handler, by consumer name.
        max_attempts: failures after which a delivery is a dead letter.
        base_delay: seconds before the first retry; doubled after each failure.
        timeout: seconds a handler may take before it counts as failed.
    """

    def __init__(
        self,
        store: Store,
        handlers: dict[str, Handler],
        *,
        max_attempts: int = 5,
        base_delay: float = 30.0,
        timeout: float = 300.0,
    ) -> None:
        self.store = store
        self.handlers = handlers
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.timeout = timeout

    async def run_once(self) -> int:
        """Deliver what is due now; return how many deliveries succeeded."""
        # Consumers run side by side, so one that is slow or failing holds up
        # only its own deliveries.
        results = await asyncio.gather(
            *(self._deliver_due(name) for name in self.handlers)
        )
        return sum(results)

    async def drain(self, max_rounds: int = 50) -> int:
        """Deliver until a round finds nothing due; return the successes."""
        total = 0
        for _ in range(max_rounds):
            done = await self.run_once()
            total += done
            if done == 0:
                break
        return total

    async def _deliver_due(self, consumer: str) -> int:
        lease = timedelta(seconds=self.timeout * 2)
        done = 0
        for event in self.store.outbox_claim(consumer, lease):
            done += await self._deliver(consumer, event)
        return done

    async def _deliver(self, consumer: str, event: ClaimedEvent) -> int:
        handler = self.handlers[consumer]
        try:
            await asyncio.wait_for(
                handler(event.type, event.event_id, dict(event.payload)), self.timeout
            )
        except Exception as exc:  # a consumer's failure is recorded, not raised
            reason = f"{type(exc).__name__}: {exc}"
            delay = timedelta(seconds=self.base_delay * 2**event.attempts)
            dead = self.store.outbox_fail(
                event.event_id, consumer, reason[:2000], delay, self.max_attempts
            )
            level = logging.ERROR if dead else logging.WARNING
            logger.log(
                level,
                "Delivery of event %s to %s failed%s: %s",
                event.event_id,
                consumer,
                " for the last time; it is now a dead letter" if dead else "",
                reason,
            )
            return 0
        self.store.outbox_complete(event.event_id, consumer)
        return 1


def replay(
    store: Store, *, event_id: str | None = None, consumer: str | None = None
) -> int:
    """Make dead letters due again; return how many.

    Only dead deliveries change: a consumer that already succeeded for an
    event is not called again.
    """
    table = table_of(OutboxDelivery)
    query = sa.update(table).where(table.c.status == "dead")
    if event_id:
        query = query.where(table.c.event_id == event_id)
    if consumer:
        query = query.where(table.c.plugin == consumer)
    values = {
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": store.now(),
        "claimed_until": None,
    }
    with store.transaction() as tx:
        return int(tx.execute(query.values(**values)).rowcount or 0)
