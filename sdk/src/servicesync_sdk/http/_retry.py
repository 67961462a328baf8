"""When a failed call is sent again, and how long the client waits first.

The strategies plug into tenacity. Time is always read from the client's
:class:`~servicesync.Clock`, never from tenacity's own monotonic clock, so
a retry budget holds on a virtual clock in tests as it does in production.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx
from servicesync import Clock
from servicesync.errors import RateLimited, RetryableError
from tenacity import RetryCallState, wait_exponential_jitter
from tenacity.stop import stop_base
from tenacity.wait import wait_base

__all__ = ["RetryPolicy", "stop_after_clock", "unapplied", "wait_server_hint"]

# Transport failures that happen before a request leaves the client: the
# service cannot have applied it.
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """How persistently a client sends a failed call again.

    Attributes:
        max_attempts: attempts per call, the first one included.
        max_elapsed: seconds on the clock a call may take, waits included;
            a wait that would pass it ends the call with its last error.
        backoff: first backoff wait, in seconds; it doubles per attempt.
        max_backoff: the longest backoff wait, in seconds.
        jitter: at most this many random seconds are added to each wait,
            so that clients failing together do not retry together.
    """

    max_attempts: int = 5
    max_elapsed: float = 120.0
    backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 1.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            msg = (
                f"A retry policy needs at least one attempt, not {self.max_attempts!r}."
            )
            raise ValueError(msg)


def unapplied(exc: BaseException) -> bool:
    """Return whether the service certainly did not apply the failed call.

    A slow-down answer refuses the call; a failure to connect happens before
    anything is sent. After a timeout, a dropped connection or a 5xx the
    call may have been applied.
    """
    return isinstance(exc, RateLimited) or isinstance(exc.__cause__, _UNSENT)


def retryable(exc: BaseException, idempotent: bool) -> bool:
    """Return whether a call that failed with ``exc`` may be sent again."""
    if not isinstance(exc, RetryableError):
        return False
    return idempotent or unapplied(exc)


class stop_after_clock(stop_base):
    """Stop when the next wait would take a call past ``seconds`` on ``clock``.

    Checking before sleeping, not after, means a long ``Retry-After`` ends
    the call at once instead of sleeping through the whole budget first.
    """

    def __init__(self, clock: Clock, seconds: float) -> None:
        self.clock = clock
        self.seconds = seconds
        self.start = clock.monotonic()

    def __call__(self, retry_state: RetryCallState) -> bool:
        elapsed = self.clock.monotonic() - self.start
        return elapsed + retry_state.upcoming_sleep > self.seconds


class wait_server_hint(wait_base):
    """Wait at least what the service asked, else back off exponentially.

    A ``Retry-After`` is a lower bound: the wait is the hint plus a little
    jitter, never less. Without a hint the wait doubles per attempt from
    ``policy.backoff`` up to ``policy.max_backoff``, plus jitter.
    """

    def __init__(self, policy: RetryPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self.rng = rng or random.Random()
        self.fallback = wait_exponential_jitter(
            multiplier=policy.backoff, max=policy.max_backoff, jitter=policy.jitter
        )

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return exc.retry_after + self.rng.uniform(0, self.policy.jitter)
        return float(self.fallback(retry_state))
