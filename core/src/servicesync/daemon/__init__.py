"""The long-running side of servicesync: schedules, webhooks, metrics, scale-out.

:class:`Daemon` runs every connection on its schedule and on its services'
webhooks. On SQLite one daemon runs alone with an in-process scheduler; on
PostgreSQL any number of daemons share a procrastinate queue in the store's
database (see :mod:`servicesync.daemon._queue`).
"""

from __future__ import annotations

from servicesync.daemon._daemon import Daemon
from servicesync.daemon._jobs import Scheduler, SyncJobs, worker_name
from servicesync.daemon._local import LocalScheduler
from servicesync.daemon._metrics import DaemonMetrics

__all__ = [
    "Daemon",
    "DaemonMetrics",
    "LocalScheduler",
    "Scheduler",
    "SyncJobs",
    "worker_name",
]
