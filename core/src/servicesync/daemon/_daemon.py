"""``servicesync daemon``: the schedules, the webhook endpoint, a clean stop.

The daemon owns SIGTERM and SIGINT: the HTTP server and the queue worker
install no handlers of their own. On either signal it stops taking work,
lets a running sync finish within ``shutdown_grace_seconds`` (or stops it,
to resume from its last committed page), closes the HTTP server and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator, Mapping

import httpx
import uvicorn

from servicesync._clock import Clock, SystemClock
from servicesync.config import Config
from servicesync.daemon._http import build_http_app
from servicesync.daemon._jobs import Scheduler, SyncJobs
from servicesync.daemon._local import LocalScheduler
from servicesync.daemon._metrics import DaemonMetrics
from servicesync.plugins import Plugins
from servicesync.store import Store

__all__ = ["Daemon"]

logger = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn, minus its signal handlers: the daemon owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Daemon:
    """Everything ``servicesync daemon`` runs, in one event loop.

    Args:
        config: the loaded config.
        store: the open store; on PostgreSQL the daemon shares its queue
            with every other daemon on the same database.
        plugins: the loaded plugins.
        clock: the clock schedules fire on (virtual in tests).
        transports: per connection, a transport instead of the network.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        plugins: Plugins,
        *,
        clock: Clock | None = None,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.metrics = DaemonMetrics(store)
        self.jobs = SyncJobs(
            config, store, plugins, self.metrics, transports=transports
        )
        self.scheduler = self._scheduler(clock or SystemClock())
        self.stopping = asyncio.Event()
        self.port: int | None = None
        self._listening = asyncio.Event()

    def _scheduler(self, clock: Clock) -> Scheduler:
        if self.store.url.get_backend_name() == "postgresql":
            from servicesync.daemon._queue import QueueScheduler

            return QueueScheduler(
                self.jobs,
                self.store.url.render_as_string(hide_password=False),
                self.config.daemon,
            )
        # One daemon per SQLite store: runs left open were cut short by a
        # previous process of this same daemon.
        closed = self.store.interrupt_runs(None, note="the daemon was stopped")
        if closed:
            logger.warning(
                "%d runs left open by a previous daemon were closed.", closed
            )
        return LocalScheduler(
            self.jobs, clock, grace=self.config.daemon.shutdown_grace_seconds
        )

    def stop(self) -> None:
        """Ask the daemon to stop: finish or checkpoint, then exit."""
        if not self.stopping.is_set():
            logger.info("Stopping: no new syncs; the running one may finish.")
            self.stopping.set()

    async def listening(self) -> int:
        """Wait until the HTTP side listens; return its port."""
        await self._listening.wait()
        assert self.port is not None
        return self.port

    async def run(self) -> None:
        """Run until :meth:`stop` or SIGTERM/SIGINT."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self.stop)
        settings = self.config.daemon
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((settings.host, settings.port))
        # Listening before the server starts: early requests wait in the backlog.
        sock.listen(128)
        self.port = sock.getsockname()[1]
        app = build_http_app(self.jobs, self.scheduler, public_url=settings.public_url)
        server = _Server(
            uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
        )
        serving = asyncio.create_task(server.serve(sockets=[sock]), name="http")
        logger.info(
            "servicesync daemon %s listening on %s:%s",
            self.jobs.worker,
            settings.host,
            self.port,
        )
        self._listening.set()
        try:
            await self.scheduler.run(self.stopping)
        finally:
            server.should_exit = True
            await serving
            sock.close()
            await self.jobs.aclose()
            for signum in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(signum)
            logger.info("servicesync daemon %s stopped.", self.jobs.worker)
