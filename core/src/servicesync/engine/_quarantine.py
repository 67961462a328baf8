"""Taking quarantined records in again, once the config's mapping can read them.

A record the mapping refused waits in the quarantine with its raw payload.
After the operator fixes the mapping, :func:`retry_quarantined` maps those
payloads again with the runner's own code, so a retried record is taken in
exactly as it would have been when it was read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from servicesync.config import ConnectionConfig
from servicesync.contract import Connector, Record, Stream
from servicesync.engine._runner import StreamRunner, _resolve_quarantine
from servicesync.store import QuarantineRow, Store

__all__ = ["RetryReport", "retry_quarantined"]

logger = logging.getLogger(__name__)


@dataclass
class RetryReport:
    """What a retry did: the records taken in, and those refused again with why."""

    taken: list[QuarantineRow] = field(default_factory=list)
    refused: list[tuple[QuarantineRow, str]] = field(default_factory=list)


def retry_quarantined(
    store: Store, name: str, connector: Connector[Any], config: ConnectionConfig
) -> RetryReport:
    """Map the quarantined records of the connection ``name`` again.

    Records that map now are saved, their payload hashes remembered, and they
    leave the quarantine. The others stay with the reason of this attempt,
    and their retry count grows.

    Retried records are taken in as a baseline: they fire no flows. The
    quarantine may hold deals refused by the very first sync, and a flow
    must not act on history only because its mapping was fixed later.
    """
    runner = StreamRunner(store, name, connector, config)
    streams = {stream.name: stream for stream in connector.streams()}
    report = RetryReport()
    rows = store.quarantined(name)
    for stream_name, group in groupby(rows, key=lambda row: row.stream):
        waiting = list(group)
        stream = streams.get(stream_name)
        if stream is None:
            reason = f"The connector no longer has a stream called {stream_name!r}."
            report.refused.extend((row, reason) for row in waiting)
            continue
        _retry_stream(store, runner, stream, waiting, report)
    logger.info(
        "Quarantine of %s retried: %d taken in, %d still refused",
        name,
        len(report.taken),
        len(report.refused),
    )
    return report


def _retry_stream(
    store: Store,
    runner: StreamRunner,
    stream: Stream,
    waiting: list[QuarantineRow],
    report: RetryReport,
) -> None:
    rows = {row.external_id: row for row in waiting}
    records = [Record.of(row.external_id, row.payload) for row in waiting]
    with store.transaction() as tx:
        taken, refused = runner._map(stream, records)
        runner._save(tx, stream, taken)
        kept = [record for record, _ in taken]
        store.remember_hashes(tx, runner.name, stream.name, kept)
        _resolve_quarantine(tx, runner.name, stream.name, kept)
        for record, reason in refused:
            store.put_quarantine(
                tx,
                runner.name,
                stream.name,
                record.external_id,
                record.payload,
                reason,
            )
    report.taken.extend(rows[record.external_id] for record in kept)
    report.refused.extend((rows[r.external_id], reason) for r, reason in refused)
