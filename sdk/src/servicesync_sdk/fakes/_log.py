"""The request log of a fake service and the counts tests assert on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

__all__ = ["LoggedRequest", "RequestLog"]


@dataclass(frozen=True)
class LoggedRequest:
    """One request a fake answered, with every credential masked.

    Attributes:
        method: the HTTP method, upper case.
        path: the request path, with known secrets masked (Bitrix24 puts
            its webhook code in the path).
        route: the route template that matched (``/notes/{note_id}``), or
            the path when no route matched.
        query: the query string with secret parameters masked.
        status: the status the fake answered with; for a fault that sends
            no answer, the status the client never saw (``0`` if the request
            was never processed).
        at: the fake's clock time when the request arrived.
        fault: the kind of fault injected into this request, if any.
    """

    method: str
    path: str
    route: str
    query: str
    status: int
    at: datetime
    fault: str | None = None


class RequestLog:
    """Every request a fake received, in arrival order.

    Example:
        >>> log.count(method="POST", route="/notes")  # doctest: +SKIP
        1
    """

    def __init__(self) -> None:
        self._entries: list[LoggedRequest] = []

    def append(self, entry: LoggedRequest) -> None:
        """Record one answered request."""
        self._entries.append(entry)

    def clear(self) -> None:
        """Forget every recorded request."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(list(self._entries))

    def __getitem__(self, index: int) -> LoggedRequest:
        return self._entries[index]

    def filter(
        self,
        *,
        method: str | None = None,
        route: str | None = None,
        status: int | None = None,
        fault: str | None = None,
    ) -> list[LoggedRequest]:
        """Return the entries matching every criterion given."""
        return [
            e
            for e in self._entries
            if (method is None or e.method == method.upper())
            and (route is None or e.route == route)
            and (status is None or e.status == status)
            and (fault is None or e.fault == fault)
        ]

    def count(
        self,
        *,
        method: str | None = None,
        route: str | None = None,
        status: int | None = None,
        fault: str | None = None,
    ) -> int:
        """Return how many entries match every criterion given."""
        return len(self.filter(method=method, route=route, status=status, fault=fault))

    def by_route(self) -> Counter[tuple[str, str]]:
        """Count requests by ``(method, route)``."""
        return Counter((e.method, e.route) for e in self._entries)

    def by_status(self) -> Counter[int]:
        """Count requests by answered status."""
        return Counter(e.status for e in self._entries)

    def by_route_and_status(self) -> Counter[tuple[str, str, int]]:
        """Count requests by ``(method, route, status)``."""
        return Counter((e.method, e.route, e.status) for e in self._entries)
