"""Passing a call through every limiter that applies to it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from servicesync import Clock
from servicesync.errors import RateLimited

from servicesync_sdk.http._limits import Limiter, WindowLimiter

__all__ = ["Throttle"]

logger = logging.getLogger(__name__)


@dataclass
class Throttle:
    """Every limiter a connection's calls must pass.

    Leaky buckets are reserved first and waited out: a call that goes
    later than a bucket planned only leaves the bucket more room. Window
    limiters are different: a call booked for one window but sent in the
    next would overfill the next. So the call waits until every window has
    room at the same moment, and is booked in all of them then.

    Attributes:
        limiters: the limits; a call passes those that apply to its endpoint.
    """

    limiters: Sequence[Limiter] = ()

    async def acquire(
        self,
        endpoint: str,
        cost: float,
        clock: Clock,
        *,
        max_wait: float | None = None,
        service: str = "",
    ) -> float:
        """Wait until a call may be sent; return the seconds waited.

        Raises:
            RateLimited: the call would wait longer than ``max_wait``.
        """
        chosen = [limiter for limiter in self.limiters if limiter.applies(endpoint)]
        windows = [
            lim
            for lim in chosen
            if isinstance(lim, WindowLimiter) and not lim.delay_safe
        ]
        started = clock.monotonic()
        wait = max(
            (
                lim.reserve(lim.units(cost), clock)
                for lim in chosen
                if lim not in windows
            ),
            default=0.0,
        )
        while True:
            if wait > 0:
                waited = clock.monotonic() - started + wait
                self._check(endpoint, waited, max_wait, service)
                await clock.sleep(wait)
            now = clock.monotonic()
            start = max((w.earliest(w.units(cost), now) for w in windows), default=now)
            if start <= now:
                break
            wait = start - now
        for window in windows:
            window.book(window.units(cost), now)
        waited = now - started
        if waited > 0:
            logger.debug(
                "A call to %s waited %.3fs for its limiters.", endpoint, waited
            )
        return waited

    def _check(
        self, endpoint: str, wait: float, max_wait: float | None, service: str
    ) -> None:
        if max_wait is None or wait <= max_wait:
            return
        msg = (
            f"A call to {endpoint!r} would wait {wait:.1f}s for its rate limiters, "
            f"longer than the {max_wait:.1f}s allowed; resume on a later run."
        )
        raise RateLimited(msg, retry_after=wait, service=service, endpoint=endpoint)
