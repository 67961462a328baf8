"""The scheduler of a lone daemon: in-process, on the core's clock.

With SQLite (the default store) one daemon runs everything. Each
connection's cron schedule fires on the injected clock, so tests run it on
virtual time; requests from webhooks queue behind the running sync; and a
connection never runs twice at once, because one task takes the jobs in
order. A schedule that fires while its connection's sync is already queued
adds nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime

from croniter import croniter

from servicesync._clock import Clock
from servicesync.contract import RecordRef
from servicesync.daemon._jobs import RENEWAL_CRON, SyncJobs

__all__ = ["LocalScheduler"]

#: The queue entry that asks for a webhook renewal rather than a sync.
RENEWAL = "webhook-renewal"

logger = logging.getLogger(__name__)

#: A queued job: the connection, what triggered it, the records it names.
_Job = tuple[str, str, tuple[RecordRef, ...]]


class LocalScheduler:
    """Runs :class:`SyncJobs` on cron schedules and on request, in this process.

    Args:
        jobs: what to run.
        clock: the clock schedules fire on.
        grace: on stop, how long (clock seconds) a running sync may take to
            finish before it is cancelled; it resumes from its last
            committed page next time.
    """

    def __init__(self, jobs: SyncJobs, clock: Clock, *, grace: float = 30.0) -> None:
        self.jobs = jobs
        self.clock = clock
        self.grace = grace
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._queued_schedules: set[str] = set()
        self._running = False

    async def request(
        self, connection: str, trigger: str, records: Sequence[RecordRef] = ()
    ) -> None:
        """Queue a sync of ``connection``; it runs after those already queued."""
        await self._queue.put((connection, trigger, tuple(records)))

    async def waiting(self) -> int:
        """Return how many jobs wait in this process's queue."""
        return self._queue.qsize()

    async def run(self, stopping: asyncio.Event) -> None:
        """Fire schedules and run queued syncs until ``stopping`` is set."""
        tickers = [
            asyncio.create_task(
                self._tick(name, cron, stopping), name=f"schedule:{name}"
            )
            for name, cron in self.jobs.scheduled().items()
        ]
        tickers.append(
            asyncio.create_task(self._renew(stopping), name="webhook-renewal")
        )
        worker = asyncio.create_task(self._work(stopping), name="sync-worker")
        try:
            await stopping.wait()
        finally:
            for ticker in tickers:
                ticker.cancel()
            await self._finish(worker)

    async def _tick(self, connection: str, cron: str, stopping: asyncio.Event) -> None:
        schedule = croniter(cron, self._now())
        while not stopping.is_set():
            fire_at: datetime = schedule.get_next(datetime)
            await self.clock.sleep(max(0.0, (fire_at - self._now()).total_seconds()))
            if connection in self._queued_schedules:
                continue
            self._queued_schedules.add(connection)
            await self._queue.put((connection, "schedule", ()))

    async def _renew(self, stopping: asyncio.Event) -> None:
        schedule = croniter(RENEWAL_CRON, self._now())
        while not stopping.is_set():
            fire_at: datetime = schedule.get_next(datetime)
            await self.clock.sleep(max(0.0, (fire_at - self._now()).total_seconds()))
            await self._queue.put(("", RENEWAL, ()))

    async def _work(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            connection, trigger, records = await self._queue.get()
            if trigger == "schedule":
                self._queued_schedules.discard(connection)
            self._running = True
            try:
                if trigger == RENEWAL:
                    await self.jobs.renew_webhooks()
                else:
                    await self.jobs.run(connection, trigger, records)
            finally:
                self._running = False

    async def _finish(self, worker: asyncio.Task[None]) -> None:
        """Let a running sync end within the grace period, else cancel it."""
        if self._running:
            sleeper = asyncio.ensure_future(self.clock.sleep(self.grace))
            await asyncio.wait({worker, sleeper}, return_when=asyncio.FIRST_COMPLETED)
            sleeper.cancel()
            if not worker.done():
                logger.warning(
                    "A sync did not finish within %s s of the stop; it is stopped "
                    "and resumes from its last committed page next time.",
                    self.grace,
                )
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker

    def _now(self) -> datetime:
        return self.clock.now()
