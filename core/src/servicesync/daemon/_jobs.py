"""One sync job: what a scheduler runs for a connection when it is due.

Whichever scheduler runs the job (in-process on SQLite, the shared queue on
PostgreSQL), it goes through :class:`SyncJobs`, which honours the operator's
switches, records what triggered the run and which process ran it, and
counts what happened for the metrics.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Protocol

import httpx

from servicesync.config import Config
from servicesync.contract import RecordRef
from servicesync.daemon._metrics import DaemonMetrics
from servicesync.engine import Engine, renew_webhooks
from servicesync.errors import ServiceSyncError
from servicesync.plugins import Plugins
from servicesync.store import Store

__all__ = ["RENEWAL_CRON", "RENEW_AHEAD", "Scheduler", "SyncJobs", "worker_name"]

logger = logging.getLogger(__name__)

#: When the daemon looks for webhooks to renew: hourly.
RENEWAL_CRON = "7 * * * *"
#: How long before it expires a webhook is renewed.
RENEW_AHEAD = timedelta(days=7)


def worker_name() -> str:
    """Name this process the way the run history and logs show it."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Scheduler(Protocol):
    """Runs each connection's syncs on its schedule, and on request."""

    async def request(
        self, connection: str, trigger: str, records: Sequence[RecordRef] = ()
    ) -> None:
        """Ask for a sync of ``connection`` as soon as it may run.

        With ``records`` (what a webhook named), the sync reads just those.
        """
        ...

    async def run(self, stopping: asyncio.Event) -> None:
        """Run syncs until ``stopping`` is set, then finish or checkpoint."""
        ...

    async def waiting(self) -> int:
        """Return how many jobs are asked for and not started yet."""
        ...


class SyncJobs:
    """Runs a connection's sync for a scheduler, one engine per process.

    Args:
        config: the daemon's config.
        store: the open store.
        plugins: the loaded plugins.
        metrics: where the daemon counts what it does.
        transports: per connection, a transport instead of the network.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        plugins: Plugins,
        metrics: DaemonMetrics,
        *,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.metrics = metrics
        self.worker = worker_name()
        #: The connections this process is syncing right now.
        self.running: set[str] = set()
        self.engine = Engine(config, store, plugins, transports=transports)

    def scheduled(self) -> dict[str, str]:
        """Return each enabled connection's schedule as cron, by name."""
        found = {}
        for name, connection in self.config.connections.items():
            cron = connection.schedule.as_cron()
            if connection.enabled and cron:
                found[name] = cron
        return found

    async def run(
        self, connection: str, trigger: str, records: Sequence[RecordRef] = ()
    ) -> str:
        """Sync ``connection`` once; return how it ended.

        With ``records``, only those are read again (see
        :meth:`Engine.sync <servicesync.engine.Engine.sync>`). A paused
        connection is skipped. A failure is logged and counted,
        never raised: the next schedule or webhook tries again, and what
        the failed run committed stays committed.
        """
        if self.store.control(connection).paused:
            logger.info(
                "Connection %r is paused; its %s sync is skipped.", connection, trigger
            )
            self.metrics.run_finished(connection, "paused")
            return "paused"
        logger.info("Sync of %r starts (%s).", connection, trigger)
        self.running.add(connection)
        try:
            report = await self.engine.sync(
                connection, trigger=trigger, worker=self.worker, records=records
            )
        except ServiceSyncError as exc:
            logger.error("Sync of %r failed: %s", connection, exc)
            self.metrics.run_finished(connection, "failed")
            return "failed"
        finally:
            self.running.discard(connection)
            self._count_calls(connection)
        for key, counts in report.streams.items():
            self.metrics.records(key, counts)
        self.metrics.run_finished(connection, "ok")
        logger.info("Sync of %r done (%s).", connection, trigger)
        return "ok"

    async def renew_webhooks(self) -> int:
        """Renew the webhooks due within :data:`RENEW_AHEAD`; return how many."""
        renewed = 0
        for name, settings in self.config.connections.items():
            if not settings.enabled or self.store.control(name).paused:
                continue
            try:
                renewal = await renew_webhooks(self.engine, name, within=RENEW_AHEAD)
            except ServiceSyncError as exc:
                logger.error("Webhooks of %r could not be renewed: %s", name, exc)
                continue
            renewed += len(renewal.renewed)
        if renewed:
            logger.info("%d webhooks renewed.", renewed)
        return renewed

    def _count_calls(self, connection: str) -> None:
        try:
            counts = self.engine.connector(connection).call_counts()
        except ServiceSyncError:  # the connector could not even be built
            return
        self.metrics.calls(connection, counts)

    async def aclose(self) -> None:
        """Close the connections the engine opened."""
        await self.engine.aclose()
