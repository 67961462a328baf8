"""A connection of deals served from lists, for the engine's own tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from servicesync import Clock
from servicesync.config import ConnectionConfig
from servicesync.contract import (
    Connector,
    ConnectorConfig,
    ConnectorContext,
    Page,
    Record,
    Stream,
    StreamState,
)
from servicesync.engine import StreamRunner
from servicesync.store import Store

__all__ = [
    "CountingConnector",
    "PagesStream",
    "count_rows",
    "deal_pages",
    "make_runner",
]

C = TypeVar("C", bound="CountingConnector")


class PagesStream(Stream):
    """Deals served from lists of raw payloads, one list a page.

    The pages may be made as they are asked for (an iterator), as a service
    sends them. A run resumes after the last page an interrupted one
    committed.
    """

    name = "deals"
    record_type = "deal"

    def __init__(
        self,
        pages: Iterable[Sequence[Mapping[str, Any]]],
        clock: Clock,
        *,
        as_text: bool = False,
    ) -> None:
        self.pages = pages
        self.clock = clock
        self.as_text = as_text

    async def read(self, state: StreamState) -> AsyncIterator[Page]:
        if not state.in_window:
            state = state.open_window(state.cursor, self.clock.now())
        done = -1 if state.resume_after is None else int(state.resume_after)
        for number, payloads in enumerate(self.pages):
            if number <= done:
                continue
            state = state.resume_at(str(number))
            yield Page([self.record(p) for p in payloads], state)
        yield Page([], state.complete_window())

    def record(self, payload: Mapping[str, Any]) -> Record:
        """The payload as a record: parsed, or as the JSON text a service sends."""
        if self.as_text:
            return Record.from_json(payload["ID"], json.dumps(payload).encode())
        return Record.of(payload["ID"], payload)


class CountingConnector(Connector[ConnectorConfig]):
    """Maps raw deals to domain fields and counts how often it is asked to."""

    name = "counting"
    config_model = ConnectorConfig

    def __init__(self, context: ConnectorContext) -> None:
        super().__init__(ConnectorConfig(), context)
        self.mapped = 0

    def streams(self) -> Sequence[Stream]:
        return []

    def map_record(
        self, stream: str, payload: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        self.mapped += 1
        return {
            "title": payload["TITLE"],
            "stage": payload["STAGE"],
            "amount": payload["AMOUNT"],
            "currency": "EUR",
        }


def deal_pages(count: int, per_page: int) -> list[list[dict[str, Any]]]:
    """``count`` deals at the proposal stage, ``per_page`` a page."""
    deals = [
        {"ID": str(i), "TITLE": f"Deal {i}", "STAGE": "proposal", "AMOUNT": "1200.50"}
        for i in range(1, count + 1)
    ]
    return [deals[i : i + per_page] for i in range(0, count, per_page)]


def make_runner(
    store: Store,
    config: ConnectionConfig | None = None,
    connector_type: type[C] = CountingConnector,  # type: ignore[assignment]
) -> tuple[StreamRunner, C]:
    """A runner of the connection ``crm`` through a :class:`CountingConnector`."""
    context = ConnectorContext(
        connection="crm",
        clock=store.clock,
        credentials=store.vault("crm"),
        state=store.plugin_state("crm"),
    )
    connector = connector_type(context)
    config = config or ConnectionConfig(plugin="counting")
    runner = StreamRunner(store, "crm", connector, config)
    return runner, connector


def count_rows(store: Store, model: Any) -> int:
    with store.transaction() as tx:
        return int(tx.execute(sa.select(sa.func.count()).select_from(model)).scalar())
