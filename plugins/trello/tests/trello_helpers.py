"""What the Trello tests share besides fixtures: the callback, factory, bot id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from servicesync import VirtualClock
from servicesync.contract import ConnectorContext
from servicesync_sdk.testing import MemoryPluginState, MemoryVault
from servicesync_trello import TrelloConfig, TrelloConnector
from servicesync_trello.fake import TrelloFake

#: Where the tests' webhooks are registered; the fake delivers there in process.
CALLBACK = "https://hooks.example.test/trello?connection=delivery"

#: The ``make`` fixture: builds a connector, settings overridden by keyword.
ConnectorFactory = Callable[..., TrelloConnector]


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


def bot_id(fake: TrelloFake) -> str:
    """Return the id of the member the default token acts as."""
    return fake.tokens[fake.connection_settings()["token"]][0]
