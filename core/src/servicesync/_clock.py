"""The one clock every part of servicesync reads and waits on.

Production code takes a :class:`Clock` instead of calling :mod:`time` or
:func:`asyncio.sleep`, so that tests can run limiters, retries, fakes and
schedules on :class:`VirtualClock`, where waiting costs no real time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock", "VirtualClock"]


@runtime_checkable
class Clock(Protocol):
    """What servicesync needs of time: the wall clock, a monotonic clock, a sleep."""

    def now(self) -> datetime:
        """Return the current time, aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Return seconds from an arbitrary origin that never go backwards."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on this clock."""
        ...


class SystemClock:
    """The real clock, optionally running faster than real time.

    ``scale`` makes time pass ``scale`` times faster: a fake service served to
    another process with ``scale=60`` treats one real second as a minute.
    """

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError(f"A clock scale must be positive, not {scale!r}.")
        self.scale = scale
        self._origin_wall = datetime.now(UTC)
        self._origin_mono = time.monotonic()

    def now(self) -> datetime:
        if self.scale == 1.0:
            return datetime.now(UTC)
        return self._origin_wall + timedelta(seconds=self.monotonic())

    def monotonic(self) -> float:
        return (time.monotonic() - self._origin_mono) * self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.scale)


class VirtualClock:
    """A clock that jumps ahead whenever every task is waiting on it.

    Sleeping tasks are woken in deadline order, and time moves only when the
    event loop has nothing else ready to run, so concurrent sleepers overlap as
    they would in real time. Use it only with in-process I/O: a task blocked on
    a real socket looks idle and would let time jump.

    Example:
        >>> clock = VirtualClock()
        >>> start = clock.monotonic()
        >>> asyncio.run(clock.sleep(3600))
        >>> clock.monotonic() - start
        3600.0
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        if self._start.tzinfo is None:
            raise ValueError("A virtual clock starts at an aware datetime.")
        self._elapsed = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._jump_scheduled = False

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed

    def advance(self, seconds: float) -> None:
        """Move time forward by hand, waking every sleeper whose time has come."""
        self._elapsed += max(0.0, seconds)
        self._wake_due()

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        deadline = self._elapsed + seconds
        heapq.heappush(self._sleepers, (deadline, next(self._order), future))
        self._schedule_jump(loop)
        await future

    def _schedule_jump(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._jump_scheduled:
            self._jump_scheduled = True
            loop.call_soon(self._jump_if_idle, loop, 0)

    def _jump_if_idle(self, loop: asyncio.AbstractEventLoop, idle_rounds: int) -> None:
        # Other callbacks still ready means some task can make progress at
        # the current instant; time may only move once none can.
        ready = len(getattr(loop, "_ready", ()))
        if ready > 0 or idle_rounds < 2:
            loop.call_soon(self._jump_if_idle, loop, 0 if ready else idle_rounds + 1)
            return
        self._jump_scheduled = False
        self._drop_cancelled()
        if self._sleepers:
            self._elapsed = max(self._elapsed, self._sleepers[0][0])
            self._wake_due()
            if self._sleepers:
                self._schedule_jump(loop)

    def _drop_cancelled(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)

    def _wake_due(self) -> None:
        while self._sleepers and self._sleepers[0][0] <= self._elapsed:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
