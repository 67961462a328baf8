"""Client-side limiters that model the limits services document.

A leaky bucket reserves room for a call and answers how long the call must
wait on the clock before it may be sent; a window limiter says when the
call would fit and books it when it goes. Either way concurrent callers
need no lock.

A call passes every limiter that applies to its endpoint (see
:class:`~servicesync_sdk.http.Throttle`). A limiter counts either HTTP
requests (one per call, whatever it carries: a Bitrix24 ``batch`` of 50
sub-calls is one request for the portal's bucket) or cost (the ``cost``
the caller passes: Jira points, Asana ``/batch`` actions).
"""

from __future__ import annotations

import hashlib
import logging
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from typing import Literal

from servicesync import Clock
from servicesync.contract import BudgetStore

__all__ = [
    "HourlyQuota",
    "LeakyBucket",
    "Limiter",
    "LocalBudgets",
    "WindowLimiter",
    "fingerprint",
]

logger = logging.getLogger(__name__)

Counts = Literal["requests", "cost"]

# Waits are lengthened by this much so that a call sent exactly when the
# model says it fits is not refused over a rounding difference.
_MARGIN = 1e-6


def fingerprint(secret: str) -> str:
    """Return a short, stable stand-in for a secret, to use in limiter keys.

    Services count some limits per token; the key must tell tokens apart
    without carrying one into a store or a log line.
    """
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


class LocalBudgets:
    """Leaky buckets held in this process; the in-process :class:`BudgetStore`.

    The bucket ``key`` holds a level that drains ``rate`` units a second.
    Taking ``cost`` adds it to the level at once (the reservation) and
    answers how long the caller must wait for the level to be back within
    ``burst``.
    """

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(
        self, key: str, cost: float, rate: float, burst: float, now: float
    ) -> float:
        """Reserve ``cost`` in bucket ``key``; return the seconds to wait first."""
        level, stamp = self._buckets.get(key, (0.0, now))
        level = max(0.0, level - max(0.0, now - stamp) * rate)
        wait = max(0.0, (level + cost - burst) / rate)
        self._buckets[key] = (level + cost, now)
        return wait + _MARGIN if wait > 0 else 0.0


class Limiter(ABC):
    """One documented limit, keyed the way the service counts it.

    Attributes:
        key: what the service counts per, such as
            ``"bitrix24:{portal}:{source_ip}"``; never a raw secret (see
            :func:`fingerprint`).
        counts: ``"requests"`` to count each call as one, ``"cost"`` to
            count the cost the caller passes.
        applies_to: a test on the endpoint name; ``None`` means every call.
    """

    def __init__(
        self,
        key: str,
        *,
        counts: Counts = "requests",
        applies_to: Callable[[str], bool] | None = None,
    ) -> None:
        self.key = key
        self.counts = counts
        self.applies_to = applies_to

    def applies(self, endpoint: str) -> bool:
        """Return whether calls to ``endpoint`` count against this limit."""
        return self.applies_to is None or self.applies_to(endpoint)

    def units(self, cost: float) -> float:
        """Return what one call of ``cost`` uses of this limit."""
        return cost if self.counts == "cost" else 1.0

    @abstractmethod
    def reserve(self, units: float, clock: Clock) -> float:
        """Reserve ``units`` now; return the seconds to wait before sending."""


class LeakyBucket(Limiter):
    """A counter that drains ``rate`` a second and must stay within ``burst``.

    This is Bitrix24's documented limiter (2 a second, 50 at most; 5 and 250
    on Enterprise plans) and, seen from the client, a token bucket too. With
    a shared ``budgets`` store every process that uses the same key draws on
    one bucket.

    Example:
        >>> bucket = LeakyBucket("bitrix24:example.bitrix24.eu:10.0.0.1", 2, 50)
    """

    def __init__(
        self,
        key: str,
        rate: float,
        burst: float,
        *,
        budgets: BudgetStore | None = None,
        counts: Counts = "requests",
        applies_to: Callable[[str], bool] | None = None,
    ) -> None:
        if rate <= 0 or burst <= 0:
            msg = (
                f"Limiter {key!r} needs a positive rate and burst, "
                f"not {rate!r} and {burst!r}."
            )
            raise ValueError(msg)
        super().__init__(key, counts=counts, applies_to=applies_to)
        self.rate = rate
        self.burst = burst
        self._shared = budgets is not None
        self._budgets: BudgetStore = budgets if budgets is not None else LocalBudgets()

    def reserve(self, units: float, clock: Clock) -> float:
        """Take ``units`` from the bucket; return the seconds to wait first."""
        # A shared store compares times across processes, so it needs the
        # wall clock; alone, the monotonic clock cannot jump backwards.
        now = clock.now().timestamp() if self._shared else clock.monotonic()
        return self._budgets.take(self.key, units, self.rate, self.burst, now)


class WindowLimiter(Limiter):
    """At most ``limit`` units in any ``window`` seconds.

    This models "N requests per W seconds" limits (Trello's 100 per 10 s
    per token and 300 per 10 s per key) and hourly quotas. It keeps a log
    of reserved calls, so it stays within the limit whether the service
    counts in fixed or sliding windows, and can use all of it.

    A shared ``budgets`` store only offers leaky buckets, so a shared window
    limiter becomes the bucket that can never break the window: it drains
    ``limit / (2 * window)`` a second with room for ``limit / 2``. That
    is half the throughput of the in-process log.
    """

    def __init__(
        self,
        key: str,
        limit: float,
        window: float,
        *,
        budgets: BudgetStore | None = None,
        counts: Counts = "requests",
        applies_to: Callable[[str], bool] | None = None,
    ) -> None:
        if limit <= 0 or window <= 0:
            msg = (
                f"Limiter {key!r} needs a positive limit and window, "
                f"not {limit!r} and {window!r}."
            )
            raise ValueError(msg)
        super().__init__(key, counts=counts, applies_to=applies_to)
        self.limit = limit
        self.window = window
        self._log: deque[tuple[float, float]] = deque()
        self._shared: LeakyBucket | None = None
        if budgets is not None:
            half = limit / 2
            self._shared = LeakyBucket(key, half / window, half, budgets=budgets)

    @property
    def delay_safe(self) -> bool:
        """A call sent later than booked could overflow a later window."""
        return self._shared is not None

    def reserve(self, units: float, clock: Clock) -> float:
        """Reserve ``units`` in the window; return the seconds to wait first."""
        if self._shared is not None:
            return self._shared.reserve(self._check(units), clock)
        now = clock.monotonic()
        start = self.earliest(units, now)
        self.book(units, start)
        return start - now

    def earliest(self, units: float, now: float) -> float:
        """Return the earliest clock time a call of ``units`` fits the window."""
        self._check(units)
        while self._log and self._log[0][0] <= now - self.window:
            self._log.popleft()
        if not self._log:
            return now
        # Walk back from the newest booking until the window would
        # overflow; the call may go once that booking has left the window.
        # Never before the newest booking, so the log stays in order.
        start = max(now, self._log[-1][0])
        used = units
        for stamp, cost in reversed(self._log):
            used += cost
            if used > self.limit:
                return max(start, stamp + self.window + _MARGIN)
        return start

    def book(self, units: float, at: float) -> None:
        """Record a call of ``units`` sent at clock time ``at``."""
        self._log.append((at, units))

    def _check(self, units: float) -> float:
        if units > self.limit:
            msg = (
                f"A call costing {units!r} can never fit in limit {self.key!r}, "
                f"which allows {self.limit!r}."
            )
            raise ValueError(msg)
        return units


class HourlyQuota(WindowLimiter):
    """At most ``limit`` units an hour, as Toggl Track and Jira apps are allowed."""

    def __init__(
        self,
        key: str,
        limit: float,
        *,
        budgets: BudgetStore | None = None,
        counts: Counts = "requests",
        applies_to: Callable[[str], bool] | None = None,
    ) -> None:
        super().__init__(
            key, limit, 3600.0, budgets=budgets, counts=counts, applies_to=applies_to
        )
