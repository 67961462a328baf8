"""What the daemon exports at ``/metrics``, in Prometheus' text format.

Counters move as the daemon works (runs, records, webhooks, calls to the
services). The backlog (outbox depth, dead letters, quarantine) is read from
the store at each scrape, so every daemon sharing a database reports the
same figures.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from servicesync.engine import StreamCounts
    from servicesync.store import Store

__all__ = ["CONTENT_TYPE", "DaemonMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_RECORD_OUTCOMES = ("read", "written", "skipped_unchanged", "quarantined")
_CALL_KINDS = ("calls", "retries", "slow_downs", "errors")


class DaemonMetrics:
    """The daemon's metrics, in a registry of their own."""

    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry()
        self._runs = Counter(
            "servicesync_runs",
            "Sync runs by connection and how they ended.",
            ["connection", "status"],
            registry=self.registry,
        )
        self._records = Counter(
            "servicesync_records",
            "Records by connection, stream and what became of them.",
            ["connection", "stream", "outcome"],
            registry=self.registry,
        )
        self._webhooks = Counter(
            "servicesync_webhooks",
            "Webhook deliveries by connection and outcome.",
            ["connection", "outcome"],
            registry=self.registry,
        )
        self._calls = Counter(
            "servicesync_service_calls",
            "Calls to the services; kind is calls, retries, slow_downs or errors.",
            ["connection", "kind"],
            registry=self.registry,
        )
        self._seen_calls: dict[tuple[str, str], int] = {}
        self.registry.register(_BacklogCollector(store))

    def run_finished(self, connection: str, status: str) -> None:
        """Count a run of ``connection`` that ended with ``status``."""
        self._runs.labels(connection, status).inc()

    def records(self, stream_key: str, counts: StreamCounts) -> None:
        """Count what one stream's run did; ``stream_key`` is ``conn.stream``."""
        connection, _, stream = stream_key.partition(".")
        for outcome in _RECORD_OUTCOMES:
            amount = getattr(counts, outcome)
            if amount:
                self._records.labels(connection, stream, outcome).inc(amount)

    def webhook(self, connection: str, outcome: str) -> None:
        """Count a delivery: accepted, replayed, rejected or unknown."""
        self._webhooks.labels(connection, outcome).inc()

    def calls(self, connection: str, totals: Mapping[str, int]) -> None:
        """Bring the call counters up to a connector's running ``totals``."""
        for kind in _CALL_KINDS:
            total = int(totals.get(kind, 0))
            seen = self._seen_calls.get((connection, kind), 0)
            if total > seen:
                self._calls.labels(connection, kind).inc(total - seen)
                self._seen_calls[connection, kind] = total

    def render(self) -> bytes:
        """Return every metric in Prometheus' text format."""
        return generate_latest(self.registry)


class _BacklogCollector(Collector):
    """Reads the backlog from the store at scrape time."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        backlog = self.store.backlog()
        outbox = GaugeMetricFamily(
            "servicesync_outbox_pending",
            "Event deliveries waiting in the outbox, by consumer.",
            labels=["consumer"],
        )
        for consumer, count in backlog.outbox.items():
            outbox.add_metric([consumer], count)
        dead = GaugeMetricFamily(
            "servicesync_dead_letters",
            "Deliveries that failed too often, by consumer.",
            labels=["consumer"],
        )
        for consumer, count in backlog.dead_letters.items():
            dead.add_metric([consumer], count)
        quarantine = GaugeMetricFamily(
            "servicesync_quarantined",
            "Records that could not be mapped, by connection.",
            labels=["connection"],
        )
        for connection, count in backlog.quarantine.items():
            quarantine.add_metric([connection], count)
        yield outbox
        yield dead
        yield quarantine
