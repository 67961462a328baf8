"""Shared fixtures: a fake Trello on a virtual clock and connectors bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from servicesync import VirtualClock
from servicesync.store.testing import (
    _postgres_engine,
    _sqlite_engine,
    store,
    store_backend,
)
from servicesync_sdk.testing import MemoryPluginState
from servicesync_trello import TrelloConnector
from servicesync_trello.fake import TrelloFake
from trello_helpers import ConnectorFactory, make_connector

__all__ = ["_postgres_engine", "_sqlite_engine", "store", "store_backend"]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def fake(clock: VirtualClock) -> TrelloFake:
    service = TrelloFake(clock=clock, seed=7)
    service.add_default_account()
    return service


@pytest.fixture
def state() -> MemoryPluginState:
    return MemoryPluginState()


@pytest.fixture
async def make(
    fake: TrelloFake, clock: VirtualClock, state: MemoryPluginState
) -> AsyncIterator[ConnectorFactory]:
    """Build connectors on the same fake and state; all closed at the end."""
    made: list[TrelloConnector] = []

    def build(**settings: Any) -> TrelloConnector:
        made.append(make_connector(fake, clock, state, **settings))
        return made[-1]

    yield build
    for item in made:
        await item.aclose()


@pytest.fixture
async def connector(make: ConnectorFactory) -> TrelloConnector:
    return make()
