"""Keeping what two-way consistency needs of the records a sync reads.

The stream runner keeps only a hash of the records that are no deals, and
incremental streams hand over only what changed; a project's progress is a
sum over all its tasks. So, before the runner takes a page in, the
:class:`Watcher` keeps the part that matters of the records of linked pairs:

* of a delivery connection that a two-way flow writes to, each record the
  connector reads as a :class:`~servicesync.engine.DeliveryItem` of a linked
  project (the project, its milestones, its tasks);
* of a CRM connection that a two-way flow reads from, the deal fields the
  flow names in ``deal_fields``, for deals that have a project.

Pages reach it through the runner's ``on_page`` hook, on a sync and on a
webhook's re-read alike. It writes in a transaction of its own, before the runner
commits the page: if the process dies in between, the page is read again and
the same rows are written again, which changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from servicesync.config import Config, FlowConfig
from servicesync.contract import Connector, Record, Stream
from servicesync.domain import Project
from servicesync.engine._delivery_view import DeliveryItem, DeliveryView, item_to_data
from servicesync.store import Store
from servicesync.store._bases import drop_records, keep_records, kept_data
from servicesync.store._dialect import table_of
from servicesync.store._links import find_links

__all__ = ["Watcher", "two_way_flows"]

logger = logging.getLogger(__name__)

PROJECTS = table_of(Project)


def two_way_flows(config: Config) -> dict[str, FlowConfig]:
    """Return the enabled flows that keep their deals and projects consistent."""
    return {
        name: flow
        for name, flow in config.flows.items()
        if flow.enabled and flow.two_way
    }


@dataclass(frozen=True)
class _Kept:
    """A record as the watcher keeps it."""

    external_id: str
    kind: str
    belongs_to: str
    data: dict[str, Any]


class Watcher:
    """Keeps the records of linked deals and projects as pages are read.

    Args:
        store: the store to keep them in.
        config: the config, whose two-way flows say what to keep.
        connector: returns the connector of a connection.
    """

    def __init__(
        self,
        store: Store,
        config: Config,
        connector: Callable[[str], Connector[Any]],
    ) -> None:
        self.store = store
        self.connector = connector
        flows = two_way_flows(config).values()
        self.targets = {flow.target for flow in flows}
        self.deal_fields: dict[str, set[str]] = {}
        for flow in flows:
            names = self.deal_fields.setdefault(flow.source, set())
            names.update(flow.deal_fields.values())

    def take(self, connection: str, stream: Stream, records: Sequence[Record]) -> None:
        """Keep what matters of one page of ``connection``'s ``stream``."""
        if not records:
            return
        if connection in self.targets and stream.record_type != "deal":
            view = self.connector(connection)
            if isinstance(view, DeliveryView):
                read = self._items(view, stream, connection, records)
                self._keep(connection, stream, records, read)
        if connection in self.deal_fields and stream.record_type == "deal":
            self._keep(connection, stream, records, self._deals(connection))

    def _items(
        self,
        view: DeliveryView,
        stream: Stream,
        connection: str,
        records: Sequence[Record],
    ) -> Callable[[sa.Connection, Sequence[Record]], list[_Kept]]:
        # Read before the transaction opens: a connector may use its plugin
        # state, which on SQLite would wait for the transaction's lock.
        items = [_item(view, stream, r) for r in records if not r.deleted]
        found = [i for i in items if i is not None]

        def read(tx: sa.Connection, _records: Sequence[Record]) -> list[_Kept]:
            linked = _linked_projects(tx, connection, {i.project for i in found})
            return [
                _Kept(i.external_id, i.kind, i.project, item_to_data(i))
                for i in found
                if i.project in linked
            ]

        return read

    def _deals(
        self, connection: str
    ) -> Callable[[sa.Connection, Sequence[Record]], list[_Kept]]:
        names = sorted(self.deal_fields[connection])

        def read(tx: sa.Connection, records: Sequence[Record]) -> list[_Kept]:
            alive = [r for r in records if not r.deleted]
            ids = find_links(tx, connection, "deal", [r.external_id for r in alive])
            paired = _deals_with_projects(tx, list(ids.values()))
            return [
                _Kept(r.external_id, "deal", ids[r.external_id], _fields(r, names))
                for r in alive
                if ids.get(r.external_id) in paired
            ]

        return read

    def _keep(
        self,
        connection: str,
        stream: Stream,
        records: Sequence[Record],
        read: Callable[[sa.Connection, Sequence[Record]], list[_Kept]],
    ) -> None:
        """Write the rows that changed; drop those of records no longer kept."""
        ids = [r.external_id for r in records]
        with self.store.transaction() as tx:
            kept = {k.external_id: k for k in read(tx, records)}
            before = kept_data(tx, connection, stream.name, ids)
            now = self.store.now()
            rows = [
                {
                    "connection": connection,
                    "stream": stream.name,
                    "external_id": k.external_id,
                    "kind": k.kind,
                    "belongs_to": k.belongs_to,
                    "data": k.data,
                    "seen_at": now,
                }
                for k in kept.values()
                if before.get(k.external_id) != (k.belongs_to, k.data)
            ]
            keep_records(tx, rows)
            gone = [i for i in before if i not in kept]
            drop_records(tx, connection, stream.name, gone)


def _item(view: DeliveryView, stream: Stream, record: Record) -> DeliveryItem | None:
    try:
        return view.delivery_item(stream.name, record.payload)
    except Exception as exc:  # a plugin's reading error must not stop the sync
        logger.warning(
            "Stream %s record %s could not be read for two-way consistency: %s",
            stream.name,
            record.external_id,
            exc,
        )
        return None


def _fields(record: Record, names: Sequence[str]) -> dict[str, Any]:
    """Return the named fields of a raw deal, as text (``None`` when empty)."""
    found: dict[str, Any] = {}
    for name in names:
        value = record.payload.get(name)
        found[name] = None if value in (None, "", []) else str(value)
    return found


def _linked_projects(tx: sa.Connection, connection: str, keys: set[str]) -> set[str]:
    """Return which project keys of ``connection`` belong to a deal's project."""
    if not keys:
        return set()
    ids = find_links(tx, connection, "project", sorted(keys))
    paired = _projects_with_deals(tx, list(ids.values()))
    return {key for key, project_id in ids.items() if project_id in paired}


def _projects_with_deals(tx: sa.Connection, project_ids: list[str]) -> set[str]:
    if not project_ids:
        return set()
    rows = tx.execute(
        sa.select(PROJECTS.c.id).where(
            PROJECTS.c.id.in_(project_ids), PROJECTS.c.deal_id.is_not(None)
        )
    )
    return {row[0] for row in rows}


def _deals_with_projects(tx: sa.Connection, deal_ids: list[str]) -> set[str]:
    if not deal_ids:
        return set()
    rows = tx.execute(
        sa.select(PROJECTS.c.deal_id).where(PROJECTS.c.deal_id.in_(deal_ids))
    )
    return {row[0] for row in rows}
