"""Requests a served fake keeps waiting, so a test can act while a client is mid-call.

A test that kills a process in the middle of a sync cannot know from the
outside when the sync is really under way: a log line says it started, but
the sync may be over before the signal lands. A hold takes the guesswork
out. While it is armed, every request it matches waits inside the fake,
unanswered; the test waits until one is held, knows its client is blocked
on that call, acts, and releases the hold.

Holds are for fakes served on a port
(:func:`~servicesync_sdk.fakes.serve_in_thread`), whose requests wait in
the server's thread while the test's thread decides.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

__all__ = ["RequestHold"]


class RequestHold:
    """Keep the requests that match ``method`` and ``route`` waiting until released.

    Args:
        method: the HTTP method to hold, or ``None`` for every method.
        route: the route template to hold (``"/rest/{method}"``), or ``None``
            for every route.

    Example:
        >>> with fake.hold(route="/rest/batch") as hold:  # doctest: +SKIP
        ...     hold.wait_held()
        ...     process.kill()
        ... # leaving the block releases the request, answered as usual
    """

    def __init__(self, method: str | None = None, route: str | None = None) -> None:
        self.method = method
        self.route = route
        self._released = threading.Event()
        self._arrived = threading.Condition()
        self._held = 0
        self._waiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    @property
    def held(self) -> int:
        """How many requests this hold has stopped so far."""
        with self._arrived:
            return self._held

    @property
    def released(self) -> bool:
        """Whether the hold lets its requests go on."""
        return self._released.is_set()

    def matches(self, method: str, route: str) -> bool:
        """Whether a request to ``route`` by ``method`` is to be held now."""
        if self.released:
            return False
        return self.method in (None, method) and self.route in (None, route)

    async def wait(self) -> None:
        """Count the request as held, then wait until the hold is released."""
        go_on = asyncio.Event()
        with self._arrived:
            self._held += 1
            self._arrived.notify_all()
            if self._released.is_set():
                return
            # The release comes from the test's thread: it sets the event
            # through the loop that waits on it.
            self._waiting.append((asyncio.get_running_loop(), go_on))
        await go_on.wait()

    def wait_held(self, count: int = 1, timeout: float = 60.0) -> None:
        """Block the calling thread until ``count`` requests are held.

        Raises:
            TimeoutError: fewer were held within ``timeout`` seconds.
        """
        with self._arrived:
            if not self._arrived.wait_for(lambda: self._held >= count, timeout):
                msg = (
                    f"{self._held} of {count} requests were held within "
                    f"{timeout} s ({self.method or 'any method'} "
                    f"{self.route or 'any route'})."
                )
                raise TimeoutError(msg)

    def release(self) -> None:
        """Let the held requests go on, and hold no more."""
        with self._arrived:
            self._released.set()
            waiting, self._waiting = self._waiting, []
        for loop, go_on in waiting:
            loop.call_soon_threadsafe(go_on.set)

    def __enter__(self) -> RequestHold:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()
