"""Per-endpoint counters of what a client did, for tests, benchmarks and metrics."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

__all__ = ["CallStats", "ClientStats"]


@dataclass(frozen=True)
class CallStats:
    """What happened to the calls of one endpoint.

    Attributes:
        calls: HTTP requests sent, retries included.
        retries: requests sent again after a failed attempt.
        slow_downs: answers asking to slow down (429s and their kin).
        errors: calls that ended in an error raised to the caller.
        waited: seconds spent waiting on limiters and slow-downs, on the
            client's clock.
    """

    calls: int = 0
    retries: int = 0
    slow_downs: int = 0
    errors: int = 0
    waited: float = 0.0

    def __add__(self, other: CallStats) -> CallStats:
        return CallStats(
            calls=self.calls + other.calls,
            retries=self.retries + other.retries,
            slow_downs=self.slow_downs + other.slow_downs,
            errors=self.errors + other.errors,
            waited=self.waited + other.waited,
        )


@dataclass
class ClientStats:
    """Counters kept by endpoint; endpoint names are already free of secrets.

    Example:
        >>> stats = ClientStats()
        >>> stats.count("crm.deal.list", calls=1)
        >>> stats.snapshot()["crm.deal.list"].calls
        1
    """

    _by_endpoint: dict[str, CallStats] = field(default_factory=dict)

    def count(
        self,
        endpoint: str,
        *,
        calls: int = 0,
        retries: int = 0,
        slow_downs: int = 0,
        errors: int = 0,
        waited: float = 0.0,
    ) -> None:
        """Add to the counters of ``endpoint``."""
        current = self._by_endpoint.get(endpoint, CallStats())
        self._by_endpoint[endpoint] = replace(
            current,
            calls=current.calls + calls,
            retries=current.retries + retries,
            slow_downs=current.slow_downs + slow_downs,
            errors=current.errors + errors,
            waited=current.waited + waited,
        )

    def snapshot(self) -> dict[str, CallStats]:
        """Return a copy of the counters, by endpoint."""
        return dict(self._by_endpoint)

    def total(self) -> CallStats:
        """Return the counters of every endpoint added together."""
        return sum(self._by_endpoint.values(), CallStats())

    def counts(self) -> dict[str, int]:
        """Return the whole client's totals, as a connector's ``call_counts``."""
        total = self.total()
        return {
            "calls": total.calls,
            "retries": total.retries,
            "slow_downs": total.slow_downs,
            "errors": total.errors,
        }

    def as_dict(self) -> dict[str, dict[str, float]]:
        """Return the counters as plain data, ready for JSON."""
        return {
            name: {
                "calls": s.calls,
                "retries": s.retries,
                "slow_downs": s.slow_downs,
                "errors": s.errors,
                "waited": s.waited,
            }
            for name, s in self._by_endpoint.items()
        }
