"""In-memory stand-ins for the stores the core hands a connector."""

from __future__ import annotations

import httpx
from servicesync import Clock
from servicesync.contract import ConnectorContext

__all__ = [
    "MemoryBudgets",
    "MemoryLocks",
    "MemoryPluginState",
    "MemoryVault",
    "memory_context",
]


class MemoryVault:
    """A :class:`~servicesync.contract.CredentialVault` held in a dict."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        """Return the secret stored under ``name``."""
        return self.values.get(name)

    def put(self, name: str, value: str) -> None:
        """Store ``value`` under ``name``."""
        self.values[name] = value


class MemoryPluginState:
    """A :class:`~servicesync.contract.PluginState` held in a dict."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        """Return the value stored under ``key``."""
        return self.values.get(key)

    def put(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        self.values[key] = value


class MemoryBudgets:
    """A :class:`~servicesync.contract.BudgetStore` of in-process leaky buckets."""

    def __init__(self) -> None:
        self.levels: dict[str, tuple[float, float]] = {}

    def take(
        self, key: str, cost: float, rate: float, burst: float, now: float
    ) -> float:
        """Add ``cost`` to bucket ``key``; return how long to wait before the call."""
        level, at = self.levels.get(key, (0.0, now))
        level = max(0.0, level - (now - at) * rate) + cost
        self.levels[key] = (level, max(now, at))
        overflow = level - burst
        return overflow / rate if overflow > 0 and rate > 0 else 0.0


class MemoryLocks:
    """:class:`~servicesync.contract.NamedLocks` for one process, on a clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.held: dict[str, tuple[str, float]] = {}

    def try_acquire(self, name: str, owner: str, ttl: float) -> bool:
        """Take ``name`` for ``owner`` unless another owner holds it unexpired."""
        now = self.clock.monotonic()
        holder = self.held.get(name)
        if holder is not None and holder[0] != owner and holder[1] > now:
            return False
        self.held[name] = (owner, now + ttl)
        return True

    def release(self, name: str, owner: str) -> None:
        """Give ``name`` back if ``owner`` holds it."""
        if self.held.get(name, ("", 0.0))[0] == owner:
            del self.held[name]


def memory_context(
    clock: Clock,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    connection: str = "test",
) -> ConnectorContext:
    """Build a :class:`~servicesync.contract.ConnectorContext` held in memory.

    Args:
        clock: the clock the connector reads and waits on.
        transport: the httpx transport to reach the service (a fake's).
        connection: the connection's name.
    """
    return ConnectorContext(
        connection=connection,
        clock=clock,
        credentials=MemoryVault(),
        state=MemoryPluginState(),
        budgets=MemoryBudgets(),
        locks=MemoryLocks(clock),
        transport=transport,
    )
