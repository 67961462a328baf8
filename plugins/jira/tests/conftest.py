"""Shared fixtures: a fake site on a virtual clock and a connector bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from jira_helpers import ConnectorFactory, make_connector
from servicesync import VirtualClock
from servicesync.store.testing import (
    _postgres_engine,
    _sqlite_engine,
    store,
    store_backend,
)
from servicesync_jira import JiraConnector
from servicesync_jira.fake import JiraFake
from servicesync_sdk.testing import MemoryPluginState

__all__ = ["_postgres_engine", "_sqlite_engine", "store", "store_backend"]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def fake(clock: VirtualClock) -> JiraFake:
    site = JiraFake(clock=clock, seed=7, base_url="https://acme.atlassian.net")
    site.add_api_user("bot@acme.test", "Delivery Bot", token="bot-token-123456")
    return site


@pytest.fixture
def state() -> MemoryPluginState:
    return MemoryPluginState()


@pytest.fixture
async def make(
    fake: JiraFake, clock: VirtualClock, state: MemoryPluginState
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
    fake: JiraFake, clock: VirtualClock, state: MemoryPluginState
) -> AsyncIterator[JiraConnector]:
    made = make_connector(fake, clock, state)
    yield made
    await made.aclose()
