"""Pytest plugin registered by the SDK through the ``pytest11`` entry point.

It offers fixtures every connector's tests need:

* ``virtual_clock``: a :class:`~servicesync.VirtualClock`;
* ``memory_context``: a :class:`~servicesync.contract.ConnectorContext` on
  that clock, with in-memory stores and no transport;
* ``make_context``: a function building such a context around a transport,
  such as a fake's ``fake.transport()``.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from servicesync import VirtualClock
from servicesync.contract import ConnectorContext

from servicesync_sdk.testing._memory import memory_context as _build_context

__all__ = ["make_context", "memory_context", "virtual_clock"]

ContextFactory = Callable[..., ConnectorContext]


@pytest.fixture
def virtual_clock() -> VirtualClock:
    """A virtual clock: waiting on it costs no real time."""
    return VirtualClock()


@pytest.fixture
def memory_context(virtual_clock: VirtualClock) -> ConnectorContext:
    """A connector context held in memory, on ``virtual_clock``."""
    return _build_context(virtual_clock)


@pytest.fixture
def make_context(virtual_clock: VirtualClock) -> ContextFactory:
    """A function ``(transport=None, connection="test") -> ConnectorContext``."""

    def make(
        transport: httpx.AsyncBaseTransport | None = None, connection: str = "test"
    ) -> ConnectorContext:
        return _build_context(virtual_clock, transport=transport, connection=connection)

    return make
