"""Fixtures for the HTTP client tests: a virtual clock, services enforcing limits."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest
from servicesync import VirtualClock

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@dataclass
class MemoryBudgets:
    """A shared budget store kept in a dict, standing in for the real store."""

    levels: dict[str, tuple[float, float]] = field(default_factory=dict)
    takes: Counter[str] = field(default_factory=Counter)

    def take(
        self, key: str, cost: float, rate: float, burst: float, now: float
    ) -> float:
        self.takes[key] += 1
        level, stamp = self.levels.get(key, (0.0, now))
        level = max(0.0, level - (now - stamp) * rate)
        self.levels[key] = (level + cost, now)
        over = level + cost - burst
        return over / rate + 1e-6 if over > 0 else 0.0


@dataclass
class BucketService:
    """A service refusing requests past a leaky bucket, as Bitrix24 does.

    Each request adds one to a counter that drains ``rate`` a second; a
    request that would push it above ``burst`` gets 503 QUERY_LIMIT_EXCEEDED.
    """

    clock: VirtualClock
    rate: float
    burst: float
    level: float = 0.0
    stamp: float = 0.0
    served: int = 0
    refused: int = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        now = self.clock.monotonic()
        self.level = max(0.0, self.level - (now - self.stamp) * self.rate)
        self.stamp = now
        if self.level + 1 > self.burst:
            self.refused += 1
            body = {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many"}
            return httpx.Response(503, json=body)
        self.level += 1
        self.served += 1
        return httpx.Response(200, json={"result": [], "total": 0})

    def allowed(self, elapsed: float) -> float:
        """Return how many requests the bucket lets through in ``elapsed`` seconds."""
        return self.burst + self.rate * elapsed


@dataclass
class WindowService:
    """A service allowing ``limit`` requests per fixed window per counted key.

    ``key_of`` says which keys a request counts against (Trello counts every
    request against its token and its API key at once).
    """

    clock: VirtualClock
    limits: dict[str, tuple[int, float]]
    key_of: Callable[[httpx.Request], list[str]]
    refusal: int = 429
    counts: Counter[tuple[str, int]] = field(default_factory=Counter)
    served: int = 0
    refused: int = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        now = self.clock.monotonic()
        keys = self.key_of(request)
        slots = [(k, math.floor(now / self.limits[self._kind(k)][1])) for k in keys]
        for key, slot in slots:
            if self.counts[(key, slot)] >= self.limits[self._kind(key)][0]:
                self.refused += 1
                body = {"error": f"{self._kind(key).upper()}_LIMIT_EXCEEDED"}
                return httpx.Response(self.refusal, json=body)
        for key, slot in slots:
            self.counts[(key, slot)] += 1
        self.served += 1
        return httpx.Response(200, json=[])

    @staticmethod
    def _kind(key: str) -> str:
        return key.split(":", 1)[0]


@pytest.fixture
def bucket_service(clock: VirtualClock) -> Callable[[float, float], BucketService]:
    def make(rate: float, burst: float) -> BucketService:
        return BucketService(clock, rate, burst)

    return make


@pytest.fixture
def memory_budgets() -> MemoryBudgets:
    return MemoryBudgets()


@pytest.fixture
def window_service(clock: VirtualClock) -> Callable[..., WindowService]:
    def make(
        limits: dict[str, tuple[int, float]],
        key_of: Callable[[httpx.Request], list[str]],
        refusal: int = 429,
    ) -> WindowService:
        return WindowService(clock, limits, key_of, refusal)

    return make
