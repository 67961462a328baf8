"""Fixtures for the tests that cross packages: the store on both databases.

``make_world`` builds the world of the won-deal flow's tests (both fakes in
process, a config pointing at them, an engine) with the flow's settings
changed as a test needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from servicesync.store import Store
from servicesync.store.testing import (
    _postgres_engine,
    _sqlite_engine,
    store,
    store_backend,
)
from won_deal_worlds import JiraWorld

__all__ = [
    "_postgres_engine",
    "_sqlite_engine",
    "make_world",
    "store",
    "store_backend",
]


@pytest.fixture
async def make_world(store: Store) -> AsyncIterator[Callable[..., JiraWorld]]:
    """Build a :class:`JiraWorld` whose flows take these settings (``on_lost``)."""
    made: list[JiraWorld] = []

    def build(**flow_settings: Any) -> JiraWorld:
        world = JiraWorld(store)
        flows = {
            name: flow.model_copy(update=flow_settings)
            for name, flow in world.config.flows.items()
        }
        world.config = world.config.model_copy(update={"flows": flows})
        world.engine = world.new_engine()
        made.append(world)
        return world

    yield build
    for world in made:
        await world.engine.aclose()
