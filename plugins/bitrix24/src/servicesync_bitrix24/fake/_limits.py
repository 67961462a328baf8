"""The portal's two limits and the cost model that feeds them.

* :class:`LeakyBucket`: one counter per portal and source address; each HTTP
  request adds 1, the counter drains ``rate`` a second, and a request that
  would lift it above ``capacity`` is refused with 503
  ``QUERY_LIMIT_EXCEEDED``.
* :class:`OperatingMeter`: per caller (webhook or app) and method, the
  method's execution time summed in ten one-minute baskets; a basket drops
  out ten minutes after its first call. Once the sum is above the limit the
  next call of that method is refused with 429 ``OPERATION_TIME_LIMIT``.
* :class:`CostModel`: how long a call takes on the portal. A list call with
  ``start >= 0`` pays a COUNT over every matching row plus a scan of the
  skipped offset; ``start=-1`` pays only for the rows it returns. The
  figures are chosen so that counting 2.4 million rows takes about 50 s, the
  order of magnitude the portal's own documentation reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CostModel", "LeakyBucket", "OperatingMeter", "PortalPlan"]


@dataclass(frozen=True, slots=True)
class PortalPlan:
    """The limits of one tariff plan.

    Attributes:
        drain_per_second: how fast the request counter drains (``Y``).
        capacity: the counter value above which requests are refused (``X``).
        operating_limit: seconds of execution time per method in ten minutes.
    """

    drain_per_second: float = 2.0
    capacity: float = 50.0
    operating_limit: float = 480.0

    @classmethod
    def standard(cls) -> PortalPlan:
        """Every plan but Enterprise: drains 2 a second, holds 50."""
        return cls()

    @classmethod
    def enterprise(cls) -> PortalPlan:
        """The Enterprise plan: drains 5 a second, holds 250."""
        return cls(drain_per_second=5.0, capacity=250.0)


@dataclass
class LeakyBucket:
    """A request counter that drains at a steady rate."""

    rate: float
    capacity: float
    level: float = 0.0
    updated: float = 0.0

    def admit(self, now: float) -> bool:
        """Count one request at ``now``; false (and nothing counted) if refused."""
        self.level = max(0.0, self.level - (now - self.updated) * self.rate)
        self.updated = now
        if self.level + 1 > self.capacity:
            return False
        self.level += 1
        return True


@dataclass
class _Basket:
    opened: float
    seconds: float = 0.0


@dataclass
class OperatingMeter:
    """Execution time of one method for one caller, in one-minute baskets."""

    limit: float
    baskets: list[_Basket] = field(default_factory=list)

    def _expire(self, now: float) -> None:
        self.baskets = [b for b in self.baskets if b.opened + 600.0 > now]

    def total(self, now: float) -> float:
        """Return the seconds counted in the last ten minutes."""
        self._expire(now)
        return sum(b.seconds for b in self.baskets)

    def blocked(self, now: float) -> bool:
        """Tell whether the next call must be refused."""
        return self.total(now) > self.limit

    def add(self, now: float, seconds: float) -> None:
        """Count ``seconds`` of execution that started at ``now``."""
        self._expire(now)
        if not self.baskets or now - self.baskets[-1].opened >= 60.0:
            self.baskets.append(_Basket(opened=now))
        self.baskets[-1].seconds += seconds

    def reset_at(self, now: float) -> float | None:
        """Return when the oldest basket drops out, or None when none is open."""
        self._expire(now)
        return self.baskets[0].opened + 600.0 if self.baskets else None


@dataclass(frozen=True, slots=True)
class CostModel:
    """Seconds a call takes on the portal.

    Attributes:
        base: every call.
        per_row: each row returned or written.
        per_counted_row: each row a COUNT visits (``start >= 0``).
        per_skipped_row: each row an offset scan skips over.
    """

    base: float = 0.01
    per_row: float = 0.0002
    per_counted_row: float = 0.00002
    per_skipped_row: float = 0.00002

    def list_call(self, *, returned: int, matching: int, start: int) -> float:
        """Return the cost of one list call."""
        cost = self.base + self.per_row * returned
        if start >= 0:
            cost += self.per_counted_row * matching + self.per_skipped_row * start
        return cost

    def simple_call(self, rows: int = 1) -> float:
        """Return the cost of a get, add or update."""
        return self.base + self.per_row * rows
