"""Fixtures: a fake portal on a virtual clock and connectors bound to it."""

from __future__ import annotations

import os
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

__all__ = ["_postgres_engine", "_sqlite_engine", "store", "store_backend"]

REPO = Path(__file__).resolve().parents[3]


def shared_dir() -> Path:
    """The API descriptions beside the project, or the path the env names."""
    return Path(os.environ.get("SERVICESYNC_SHARED", REPO.parent / "shared"))


@pytest.fixture
def examples() -> Path:
    """The Bitrix24 examples folder; skipped (failed on CI) when absent."""
    folder = shared_dir() / "api-specs" / "bitrix24" / "examples"
    if not folder.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"The Bitrix24 examples are missing at {folder}.")
        pytest.skip(f"The Bitrix24 examples are not at {folder}.")
    return folder


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
