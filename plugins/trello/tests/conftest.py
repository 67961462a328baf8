"""Shared fixtures: a fake Trello on a virtual clock and connectors bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from servicesync import VirtualClock
from servicesync.contract import ConnectorContext
from servicesync.store.testing import (
    _postgres_engine,
    _sqlite_engine,
    store,
    store_backend,
)
from servicesync_sdk.testing import MemoryPluginState, MemoryVault
from servicesync_trello import TrelloConfig, TrelloConnector
from servicesync_trello.fake import TrelloFake

__all__ = ["_postgres_engine", "_sqlite_engine", "store", "store_backend"]

#: Where the tests' webhooks are registered; the fake delivers there in process.
CALLBACK = "https://hooks.example.test/trello?connection=delivery"


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


def make_connector(
    fake: TrelloFake,
    clock: VirtualClock,
    state: MemoryPluginState,
    transport: Any = None,
    budgets: Any = None,
    **settings: Any,
) -> TrelloConnector:
    """Build a connector that reaches ``fake`` in process as its bot member."""
    values = {**fake.connection_settings(), "callback_url": CALLBACK, **settings}
    context = ConnectorContext(
        connection="delivery",
        clock=clock,
        credentials=MemoryVault(),
        state=state,
        transport=transport or fake.transport(),
        budgets=budgets,
    )
    return TrelloConnector(TrelloConfig.model_validate(values), context)


ConnectorFactory = Callable[..., TrelloConnector]


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


def bot_id(fake: TrelloFake) -> str:
    """Return the id of the member the default token acts as."""
    return fake.tokens[fake.connection_settings()["token"]][0]
