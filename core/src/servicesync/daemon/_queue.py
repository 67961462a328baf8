"""The scheduler of daemons that share a PostgreSQL store: procrastinate.

Several daemons, on one machine or many, run one queue in the store's
database. procrastinate gives what sharing needs:

- each schedule is deferred once per instant whichever daemon sees it first
  (its periodic defers are unique per task and timestamp);
- a connection's jobs share a lock, so its syncs run one at a time across
  every daemon, and a queueing lock keeps at most one scheduled sync waiting;
- daemons send heartbeats; a sweep, itself a periodic job, finds the jobs of
  a daemon silent for longer than ``stall_seconds`` and queues them again,
  since procrastinate does not retry a stalled job by itself. The sweep
  records each takeover in the run history.

procrastinate is imported only here, on the PostgreSQL path; its schema is
installed by the store's migrations.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import UniqueViolation
from procrastinate.jobs import Status
from procrastinate.worker import Worker
from psycopg.conninfo import make_conninfo

from servicesync.config import DaemonConfig
from servicesync.contract import RecordRef
from servicesync.daemon._jobs import RENEWAL_CRON, SyncJobs
from servicesync.errors import StoreError
from servicesync.store import RunCounts, Store
from servicesync.store._processes import this_process

__all__ = ["QueueScheduler", "conninfo_of"]

logger = logging.getLogger(__name__)

SYNC_TASK = "servicesync.sync"
SCHEDULED_SYNC_TASK = "servicesync.scheduled_sync"
SWEEP_TASK = "servicesync.sweep"
RENEWAL_TASK = "servicesync.renew_webhooks"
#: Seconds between looks at whether the queue worker has its id yet.
_ANNOUNCE_POLL_SECONDS = 0.05
#: How long the record of a worker's process is kept (a daemon's lifetime).
_WORKER_RECORD_DAYS = 365
#: The names of those records: the prefix, then procrastinate's worker id.
_WORKER_LOCK_PREFIX = "queue-worker:"


def conninfo_of(store_url: str) -> str:
    """Turn the store's SQLAlchemy URL into a libpq connection string."""
    url = sa.make_url(store_url)
    params: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
        **{key: value for key, value in url.query.items() if isinstance(value, str)},
    }
    return make_conninfo(**{k: v for k, v in params.items() if v is not None})


class QueueScheduler:
    """Runs :class:`SyncJobs` from a procrastinate queue shared by many daemons.

    Args:
        jobs: what to run.
        store_url: the PostgreSQL store the queue lives in.
        settings: heartbeats, the stall bound and the stop grace period.
    """

    def __init__(self, jobs: SyncJobs, store_url: str, settings: DaemonConfig) -> None:
        self.jobs = jobs
        self.settings = settings
        self.app = App(
            connector=PsycopgConnector(
                conninfo=conninfo_of(store_url),
                min_size=1,
                max_size=4,
            )
        )
        #: Set while the queue is open: deferring a job needs its connections.
        self._open = asyncio.Event()
        #: Set once the queue has closed for good, at the daemon's stop.
        self._closed = asyncio.Event()
        #: The name of the record of this daemon's queue worker, once written.
        self._worker_record: str | None = None
        self._register_tasks()

    def _register_tasks(self) -> None:
        jobs = self.jobs

        @self.app.task(name=SYNC_TASK)
        async def sync(
            connection: str,
            trigger: str = "request",
            records: list[list[str]] | None = None,
        ) -> str:
            named = [RecordRef(stream, ref) for stream, ref in records or ()]
            return await jobs.run(connection, trigger, named)

        @self.app.task(name=SCHEDULED_SYNC_TASK)
        async def scheduled_sync(timestamp: int, connection: str) -> str:
            return await jobs.run(connection, "schedule")

        for connection, cron in jobs.scheduled().items():
            self.app.periodic(
                cron=cron,
                periodic_id=connection,
                task_kwargs={"connection": connection},
                lock=_lock(connection),
                queueing_lock=f"schedule:{connection}",
            )(scheduled_sync)
        self._sync = sync

        @self.app.task(name=SWEEP_TASK)
        async def sweep(timestamp: int) -> int:
            return await self.sweep()

        @self.app.task(name=RENEWAL_TASK)
        async def renew(timestamp: int) -> int:
            return await jobs.renew_webhooks()

        self.app.periodic(
            cron=RENEWAL_CRON, periodic_id="webhooks", queueing_lock="renewal"
        )(renew)

        self.app.periodic(
            cron=_sweep_cron(self.settings.stall_seconds),
            periodic_id="stalled",
            queueing_lock="sweep",
        )(sweep)

    async def request(
        self, connection: str, trigger: str, records: Sequence[RecordRef] = ()
    ) -> None:
        """Queue a sync of ``connection``; it runs after the one holding its lock.

        The records a webhook named travel in the job's arguments, as
        ``[stream, id]`` pairs. A request that comes while the daemon is
        still starting waits until the queue is open; one that comes once it
        closed, as the daemon stops, is dropped with a note in the log (the
        webhook was recorded, and the next sync reads the change).
        """
        if not await self._wait_open():
            logger.info(
                "The queue is closed; the %s sync of %r is left to the next run.",
                trigger, connection,
            )  # fmt: skip
            return
        named: list[Any] = [[ref.stream, ref.external_id] for ref in records]
        await self._sync.configure(lock=_lock(connection)).defer_async(
            connection=connection, trigger=trigger, records=named
        )

    async def _wait_open(self) -> bool:
        """Wait until the queue is open (true) or closed for good (false)."""
        opened = asyncio.ensure_future(self._open.wait())
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({opened, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            opened.cancel()
            closed.cancel()
        return self._open.is_set()

    async def waiting(self) -> int:
        """Return how many syncs wait in the queue, for the whole fleet."""
        manager = self.app.job_manager
        waiting = 0
        for task in (SYNC_TASK, SCHEDULED_SYNC_TASK):
            todo = await manager.list_jobs_async(task=task, status="todo")
            waiting += len(list(todo))
        return waiting

    async def sweep(self) -> int:
        """Queue again the jobs of daemons that stopped sending heartbeats."""
        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(
            seconds_since_heartbeat=self.settings.stall_seconds
        )
        self._forget_silent_workers()
        taken = 0
        for job in stalled:
            connection = str(job.task_kwargs.get("connection", ""))
            try:
                await manager.retry_job(job)
                how = "queued again"
            except UniqueViolation:
                # A scheduled sync of the same connection already waits; it
                # covers the stalled one's work, so that one is closed.
                assert job.id is not None
                await manager.finish_job_by_id_async(
                    job.id, status=Status.FAILED, delete_job=False
                )
                how = "covered by the sync already queued"
            taken += 1
            logger.warning(
                "Job %s (%s %s) of a silent daemon is %s.",
                job.id,
                job.task_name,
                connection,
                how,
            )
            if connection:
                self._record_takeover(connection, job.id, how)
        return taken

    def _forget_silent_workers(self) -> None:
        """Give back the outbox claims of silent daemons, and forget their workers.

        Each daemon records which process its queue worker is (see
        :meth:`_announce`). A worker whose heartbeats stopped, or whose row
        procrastinate has pruned already, belongs to a daemon that is gone.
        A claim's holder on another host cannot be checked otherwise, so
        without this its deliveries would wait out their lease, and the
        record of a killed daemon would be kept for good.
        """
        locks = self.jobs.store.locks()
        records = locks.held_under(_WORKER_LOCK_PREFIX)
        if not records:
            return
        live = _live_workers(self.jobs.store, self.settings.stall_seconds)
        for name, holder in records.items():
            if _worker_of(name) in live:
                continue
            released = self.jobs.store.outbox_release(holder)
            if released:
                logger.warning(
                    "%d outbox deliveries claimed by the silent %s are free again.",
                    released, holder,
                )  # fmt: skip
            locks.release(name, holder)

    async def _announce(self, worker: Worker) -> None:
        """Record which process the queue worker is, once it has an id.

        The record is written again with every heartbeat: a daemon the
        sweep took for dead while it was only late gets its record back.
        """
        while worker.worker_id is None:  # noqa: ASYNC110 (procrastinate sets it)
            await asyncio.sleep(_ANNOUNCE_POLL_SECONDS)
        name = self._worker_record = _worker_lock(worker.worker_id)
        ttl = _WORKER_RECORD_DAYS * 86_400.0
        while True:
            try:
                self.jobs.store.locks().try_acquire(name, this_process(), ttl)
            except sa.exc.SQLAlchemyError as exc:
                # The next heartbeat tries again; the queue's own errors
                # stop the daemon if the database is gone for good.
                logger.warning("Could not record %s: %s", name, type(exc).__name__)
            await asyncio.sleep(self.settings.heartbeat_seconds)

    def _record_takeover(self, connection: str, job_id: int | None, how: str) -> None:
        store = self.jobs.store
        run_id = store.start_run(
            connection, None, trigger=f"takeover:job {job_id}", worker=self.jobs.worker
        )
        store.finish_run(
            run_id,
            "requeued",
            RunCounts(),
            f"The daemon running job {job_id} stopped sending heartbeats; "
            f"its work is {how}.",
        )
        store.interrupt_runs(connection, note=f"its daemon died; job {job_id} {how}")

    async def run(self, stopping: asyncio.Event) -> None:
        """Work the queue until ``stopping`` is set, then finish within the grace."""
        async with self.app.open_async():
            self._open.set()
            try:
                await self._work(stopping)
            finally:
                self._open.clear()
                self._closed.set()

    async def _work(self, stopping: asyncio.Event) -> None:
        """Run the worker until ``stopping`` is set, then let it finish."""
        worker = Worker(
            self.app,
            name=self.jobs.worker,
            concurrency=self.settings.concurrency,
            install_signal_handlers=False,
            update_heartbeat_interval=self.settings.heartbeat_seconds,
            stalled_worker_timeout=self.settings.stall_seconds,
            shutdown_graceful_timeout=self.settings.shutdown_grace_seconds,
            fetch_job_polling_interval=min(5.0, self.settings.heartbeat_seconds),
        )
        running = asyncio.create_task(worker.run(), name="queue-worker")  # type: ignore[no-untyped-call]
        announce = asyncio.create_task(self._announce(worker), name="queue-announce")
        stop = asyncio.create_task(stopping.wait())
        await asyncio.wait({running, stop}, return_when=asyncio.FIRST_COMPLETED)
        # procrastinate stops its heartbeats as soon as it is asked to
        # stop; keep them going while the running sync finishes, or a
        # peer's sweep would take this live daemon for dead.
        beating = asyncio.create_task(self._heartbeats(worker))
        worker.stop()  # type: ignore[no-untyped-call]
        stop.cancel()
        try:
            await running
        finally:
            beating.cancel()
            announce.cancel()
            # procrastinate forgets the worker's id once it stopped, so the
            # record is the one the announcement wrote.
            if self._worker_record is not None:
                self.jobs.store.locks().release(self._worker_record, this_process())
                self._worker_record = None
        if not stopping.is_set():
            msg = "The job queue's worker stopped on its own; see the log above."
            raise StoreError(msg)

    async def _heartbeats(self, worker: Worker) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            if worker.worker_id is None:
                return
            await self.app.job_manager.update_heartbeat(worker.worker_id)


def _lock(connection: str) -> str:
    return f"sync:{connection}"


def _worker_lock(worker_id: int) -> str:
    """The lock row that names the process behind a queue worker."""
    return f"{_WORKER_LOCK_PREFIX}{worker_id}"


def _worker_of(lock_name: str) -> int | None:
    """The worker id a worker's lock row names; ``None`` if it names none."""
    number = lock_name.removeprefix(_WORKER_LOCK_PREFIX)
    return int(number) if number.isdigit() else None


def _live_workers(store: Store, stall_seconds: float) -> set[int]:
    """The ids of the queue workers whose last heartbeat is recent enough."""
    query = sa.text(
        "SELECT id FROM procrastinate_workers "
        "WHERE last_heartbeat >= now() - make_interval(secs => :seconds)"
    )
    with store.transaction() as tx:
        return {int(i) for i in tx.execute(query, {"seconds": stall_seconds}).scalars()}


def _sweep_cron(stall_seconds: float) -> str:
    """Sweep about four times per stall bound, on a divisor of a minute."""
    wanted = max(1, int(stall_seconds / 4))
    if wanted >= 60:
        return "* * * * *"
    step = max(d for d in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30) if d <= wanted)
    return f"* * * * * */{step}"
