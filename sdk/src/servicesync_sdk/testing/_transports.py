"""Transports that stand between a connector and its fake in tests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import httpx
from servicesync import Clock

__all__ = ["ScriptedSlowDowns", "SeenRequest"]


@dataclass(frozen=True)
class SeenRequest:
    """One request a :class:`ScriptedSlowDowns` saw.

    Attributes:
        at: the clock's monotonic time when it arrived.
        method: its HTTP method.
        path: its URL path.
        retry_after: the ``Retry-After`` answered, or ``None`` if passed on.
    """

    at: float
    method: str
    path: str
    retry_after: str | None


class ScriptedSlowDowns(httpx.AsyncBaseTransport):
    """Answer some requests with a 429 and pass the others to ``inner``.

    ``script`` lists, request by request, the ``Retry-After`` value of a
    429 to answer, or ``None`` to pass the request on; requests past the
    end of the script are passed on.

    Example:
        >>> from servicesync import VirtualClock
        >>> inner = httpx.MockTransport(lambda request: httpx.Response(200))
        >>> transport = ScriptedSlowDowns(inner, VirtualClock(), ["5", None])
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        clock: Clock,
        script: Iterable[str | None],
    ) -> None:
        self.inner = inner
        self.clock = clock
        self.script = list(script)
        self.seen: list[SeenRequest] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer from the script, or from ``inner``."""
        index = len(self.seen)
        retry_after = self.script[index] if index < len(self.script) else None
        self.seen.append(
            SeenRequest(
                self.clock.monotonic(), request.method, request.url.path, retry_after
            )
        )
        if retry_after is None:
            return await self.inner.handle_async_request(request)
        return httpx.Response(
            429,
            headers={"Retry-After": retry_after},
            json={"error": "Too many requests; slow down."},
            request=request,
        )

    async def aclose(self) -> None:
        """Close ``inner``."""
        await self.inner.aclose()
