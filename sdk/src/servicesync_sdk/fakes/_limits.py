"""Rate-limit emulation on the fake's clock.

A limiter only counts; what a refused request receives is the service's own
answer, which the fake gives as a ``reject`` function when it adds a
:class:`RateLimitRule`. Three shapes cover the services servicesync talks to:

* :class:`LeakyBucket`: a counter that drains at a steady rate (Bitrix24:
  capacity 50, drain 2 per second; refused with 503 ``QUERY_LIMIT_EXCEEDED``).
* :class:`FixedWindow`: at most N requests per window per key (Trello: 100
  per 10 s per token and 300 per 10 s per key; Asana: 150 per minute).
* :class:`HourlyQuota`: a fixed window of one hour (Toggl's hourly quota).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Protocol

from servicesync import Clock
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "Decision",
    "FixedWindow",
    "HourlyQuota",
    "LeakyBucket",
    "Limiter",
    "RateLimitRule",
]


@dataclass(frozen=True)
class Decision:
    """What a limiter decided about one request.

    Attributes:
        allowed: whether the request may proceed.
        limit: the capacity or the number of requests per window.
        remaining: how much room is left after this request.
        retry_after: seconds until a request of the same cost would pass;
            ``0`` when allowed.
        reset_after: seconds until the counter is back to empty.
    """

    allowed: bool
    limit: float
    remaining: float
    retry_after: float
    reset_after: float


class Limiter(Protocol):
    """Anything that can decide whether one more request fits."""

    def acquire(self, key: Hashable = None, cost: float = 1.0) -> Decision:
        """Count a request of ``cost`` under ``key`` if it fits, and say so."""
        ...


class LeakyBucket:
    """A counter per key that each request raises and time drains.

    A request that would lift the counter above ``capacity`` is refused and
    leaves the counter unchanged.

    Args:
        capacity: the highest level the counter may reach.
        drain_per_second: how much the counter falls per second of the clock.
        clock: the fake's clock.
    """

    def __init__(
        self, *, capacity: float, drain_per_second: float, clock: Clock
    ) -> None:
        if capacity <= 0 or drain_per_second <= 0:
            msg = (
                f"A leaky bucket needs a positive capacity and drain rate, "
                f"not {capacity!r} and {drain_per_second!r}."
            )
            raise ValueError(msg)
        self.capacity = capacity
        self.drain_per_second = drain_per_second
        self._clock = clock
        self._levels: dict[Hashable, tuple[float, float]] = {}

    def level(self, key: Hashable = None) -> float:
        """Return the counter of ``key`` as of now."""
        level, at = self._levels.get(key, (0.0, self._clock.monotonic()))
        elapsed = self._clock.monotonic() - at
        return max(0.0, level - elapsed * self.drain_per_second)

    def acquire(self, key: Hashable = None, cost: float = 1.0) -> Decision:
        """Raise the counter of ``key`` by ``cost`` unless that overflows it."""
        level = self.level(key)
        now = self._clock.monotonic()
        if level + cost > self.capacity:
            self._levels[key] = (level, now)
            wait = (level + cost - self.capacity) / self.drain_per_second
            return self._decision(False, level, wait)
        level += cost
        self._levels[key] = (level, now)
        return self._decision(True, level, 0.0)

    def _decision(self, allowed: bool, level: float, wait: float) -> Decision:
        return Decision(
            allowed=allowed,
            limit=self.capacity,
            remaining=max(0.0, self.capacity - level),
            retry_after=wait,
            reset_after=level / self.drain_per_second,
        )


class FixedWindow:
    """At most ``limit`` requests per key in each window of ``seconds``.

    A key's window opens with its first request and lasts ``seconds``; the
    next request after that opens a new one. Refused requests are not
    counted.

    Args:
        limit: the requests (or total cost) allowed per window.
        seconds: the window's length on the clock.
        clock: the fake's clock.
    """

    def __init__(self, *, limit: float, seconds: float, clock: Clock) -> None:
        if limit <= 0 or seconds <= 0:
            msg = (
                f"A fixed window needs a positive limit and length, "
                f"not {limit!r} and {seconds!r}."
            )
            raise ValueError(msg)
        self.limit = limit
        self.seconds = seconds
        self._clock = clock
        self._windows: dict[Hashable, tuple[float, float]] = {}

    def used(self, key: Hashable = None) -> float:
        """Return what ``key`` has used in its current window."""
        return self._current(key)[1]

    def acquire(self, key: Hashable = None, cost: float = 1.0) -> Decision:
        """Count ``cost`` against the window of ``key`` unless it is full."""
        start, used = self._current(key)
        reset_after = start + self.seconds - self._clock.monotonic()
        if used + cost > self.limit:
            return Decision(
                False, self.limit, self.limit - used, reset_after, reset_after
            )
        used += cost
        self._windows[key] = (start, used)
        return Decision(True, self.limit, self.limit - used, 0.0, reset_after)

    def _current(self, key: Hashable) -> tuple[float, float]:
        now = self._clock.monotonic()
        start, used = self._windows.get(key, (now, 0.0))
        if now >= start + self.seconds:
            start, used = now, 0.0
        self._windows[key] = (start, used)
        return start, used


class HourlyQuota(FixedWindow):
    """A fixed window of one hour, opened by a key's first request.

    Args:
        limit: the requests allowed per hour.
        clock: the fake's clock.
    """

    def __init__(self, *, limit: float, clock: Clock) -> None:
        super().__init__(limit=limit, seconds=3600.0, clock=clock)


@dataclass
class RateLimitRule:
    """A limiter bound to the requests it counts and the answer it gives.

    Attributes:
        limiter: the counter.
        reject: builds the service's real refusal from the decision (status,
            headers such as ``Retry-After``, body).
        key: picks the counter a request counts against (a token, an API
            key, a portal); ``None`` means one counter for everything.
        applies: selects the requests this rule counts; ``None`` means all.
        cost: what one request costs, or a function of the request.
    """

    limiter: Limiter
    reject: Callable[[Decision], Response]
    key: Callable[[Request], Hashable] | None = None
    applies: Callable[[Request], bool] | None = None
    cost: float | Callable[[Request], float] = 1.0

    def check(self, request: Request) -> Response | None:
        """Count ``request`` and return the refusal if it does not fit."""
        if self.applies is not None and not self.applies(request):
            return None
        key = self.key(request) if self.key is not None else None
        cost = self.cost(request) if callable(self.cost) else self.cost
        decision = self.limiter.acquire(key, cost)
        return None if decision.allowed else self.reject(decision)
