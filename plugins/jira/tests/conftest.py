"""Shared fixtures: a fake site on a virtual clock and a connector bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from servicesync import VirtualClock
from servicesync.contract import ConnectorContext
from servicesync.store.testing import (
    _postgres_engine,
    _sqlite_engine,
    store,
    store_backend,
)
from servicesync_jira import JiraConfig, JiraConnector
from servicesync_jira.fake import JiraFake

__all__ = ["_postgres_engine", "_sqlite_engine", "store", "store_backend"]


class MemoryStore:
    """A dict standing in for the engine's credential vault and plugin state."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def put(self, name: str, value: str) -> None:
        self.values[name] = value


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def fake(clock: VirtualClock) -> JiraFake:
    site = JiraFake(clock=clock, seed=7, base_url="https://acme.atlassian.net")
    site.add_api_user("bot@acme.test", "Delivery Bot", token="bot-token-123456")
    return site


@pytest.fixture
def state() -> MemoryStore:
    return MemoryStore()


def make_connector(
    fake: JiraFake, clock: VirtualClock, state: MemoryStore, **config: object
) -> JiraConnector:
    """Build a connector that reaches ``fake`` in process."""
    settings: dict[str, object] = {
        "site_url": fake.base_url,
        "email": "bot@acme.test",
        "api_token": "bot-token-123456",
        "webhook_secret": "hook-secret-abc",
        **config,
    }
    context = ConnectorContext(
        connection="jira-test",
        clock=clock,
        credentials=MemoryStore(),
        state=state,
        transport=fake.transport(),
    )
    return JiraConnector(JiraConfig.model_validate(settings), context)


ConnectorFactory = Callable[..., JiraConnector]


@pytest.fixture
async def make(
    fake: JiraFake, clock: VirtualClock, state: MemoryStore
) -> AsyncIterator[ConnectorFactory]:
    """Build more connectors on the same site and state; all closed at the end."""
    made: list[JiraConnector] = []

    def build(**config: object) -> JiraConnector:
        made.append(make_connector(fake, clock, state, **config))
        return made[-1]

    yield build
    for item in made:
        await item.aclose()


@pytest.fixture
async def connector(
    fake: JiraFake, clock: VirtualClock, state: MemoryStore
) -> AsyncIterator[JiraConnector]:
    made = make_connector(fake, clock, state)
    yield made
    await made.aclose()
