"""Fixtures: a fake portal on a virtual clock and connectors bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from b24_helpers import MemoryState, MemoryVault
from servicesync import VirtualClock
from servicesync.contract import ConnectorContext
from servicesync.store.testing import (
    _postgres_engine,
    _sqlite_engine,
    store,
    store_backend,
)
from servicesync_bitrix24 import Bitrix24Config, Bitrix24Connector
from servicesync_bitrix24.fake import FakePortal
from servicesync_sdk.testing import shared_path

__all__ = ["_postgres_engine", "_sqlite_engine", "store", "store_backend"]


@pytest.fixture
def examples() -> Path:
    """The Bitrix24 examples folder; skipped (failed on CI) when absent."""
    return shared_path("api-specs/bitrix24/examples", what="The Bitrix24 examples")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def portal(clock: VirtualClock) -> FakePortal:
    return FakePortal(clock=clock, seed=7)


@pytest.fixture
def make_connector(
    portal: FakePortal, clock: VirtualClock
) -> Callable[..., Bitrix24Connector]:
    def make(**overrides: Any) -> Bitrix24Connector:
        values: dict[str, Any] = {"portal_url": portal.base_url}
        if not {"client_id", "webhook_url"} & set(overrides):
            values["webhook_url"] = portal.add_webhook()
        values.update(overrides)
        context = ConnectorContext(
            connection="crm",
            clock=clock,
            credentials=MemoryVault(),
            state=MemoryState(),
            transport=portal.transport(),
        )
        return Bitrix24Connector(Bitrix24Config(**values), context)

    return make


@pytest.fixture
async def connector(
    make_connector: Callable[..., Bitrix24Connector],
) -> AsyncIterator[Bitrix24Connector]:
    made = make_connector()
    yield made
    await made.aclose()
