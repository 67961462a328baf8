"""Shared fixtures: a fake workspace on a virtual clock and connectors bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asana_helpers import TEAM, TOKEN, ConnectorFactory, settings
from servicesync import VirtualClock
from servicesync.contract import ConnectorContext
from servicesync_asana import AsanaConnector
from servicesync_asana.fake import AsanaFake
from servicesync_sdk.testing import MemoryLocks, MemoryPluginState, MemoryVault


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def fake(clock: VirtualClock) -> AsanaFake:
    workspace = AsanaFake(clock=clock, seed=7)
    admin = workspace.add_user("admin@acme.test", "Workspace Admin")
    workspace.add_token(admin.gid, TOKEN)
    for n, email in enumerate(TEAM):
        workspace.add_user(email, f"Dev {n}")
    return workspace


@pytest.fixture
def state() -> MemoryPluginState:
    return MemoryPluginState()


@pytest.fixture
def vault() -> MemoryVault:
    return MemoryVault()


@pytest.fixture
async def make(
    fake: AsanaFake,
    clock: VirtualClock,
    state: MemoryPluginState,
    vault: MemoryVault,
) -> AsyncIterator[ConnectorFactory]:
    """Build connectors on the same fake, state and vault; all closed at the end."""
    made: list[AsanaConnector] = []

    def build(
        transport: httpx.AsyncBaseTransport | None = None, **config: Any
    ) -> AsanaConnector:
        context = ConnectorContext(
            connection="delivery",
            clock=clock,
            credentials=vault,
            state=state,
            locks=MemoryLocks(clock),
            transport=transport or fake.transport(),
        )
        made.append(AsanaConnector(settings(fake, **config), context))
        return made[-1]

    yield build
    for connector in made:
        await connector.aclose()


@pytest.fixture
def connector(make: ConnectorFactory) -> AsanaConnector:
    return make()
