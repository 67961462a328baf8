"""Recognising a service's "slow down" answers.

Every service says "too many requests" in its own way: a 429 with a
``Retry-After`` header, a 503 with an error code in the body, a 429 that
blocks one method only. A :data:`SlowDownClassifier` reads one response and
says whether it is such an answer, how long to wait at least, and whether
the whole connection or one endpoint must wait. A slow-down answer always
means the service did not apply the request, so even a write may be sent
again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from servicesync.errors import RateLimited

__all__ = [
    "SlowDown",
    "SlowDownClassifier",
    "SlowedDown",
    "bitrix24_slow_down",
    "default_slow_down",
    "jira_slow_down",
    "parse_retry_after",
    "toggl_slow_down",
    "trello_slow_down",
]


@dataclass(frozen=True)
class SlowDown:
    """A service's request to slow down.

    Attributes:
        retry_after: seconds to wait at least, or ``None`` when the service
            gave no hint and the client's backoff decides.
        scope: the endpoint that must wait, or ``None`` when every call of
            the connection must wait.
        reason: a short code for logs, such as ``"QUERY_LIMIT_EXCEEDED"``.
    """

    retry_after: float | None = None
    scope: str | None = None
    reason: str = "rate limited"


#: Reads a response, the endpoint it answers and the current time; returns a
#: :class:`SlowDown` when the response asks the client to slow down.
SlowDownClassifier = Callable[[httpx.Response, str, datetime], SlowDown | None]


class SlowedDown(RateLimited):
    """A slow-down answer the client could not wait out.

    Attributes:
        scope: the endpoint that was blocked, or ``None`` for the whole
            connection.
        reason: the service's code for the refusal.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        scope: str | None = None,
        reason: str = "",
        service: str = "",
        endpoint: str = "",
    ) -> None:
        self.scope = scope
        self.reason = reason
        super().__init__(
            message, retry_after=retry_after, service=service, endpoint=endpoint
        )


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Turn a ``Retry-After`` value into seconds from ``now``.

    Both forms are read: delta seconds and an HTTP date. A value of zero or
    less, a date in the past and an unreadable value all mean "no hint" and
    give ``None``, so the caller falls back to its own backoff instead of
    retrying at once.

    Example:
        >>> from datetime import UTC, datetime
        >>> parse_retry_after("7", datetime(2026, 1, 5, tzinfo=UTC))
        7.0
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = (when - now).total_seconds()
    return seconds if seconds > 0 else None


def default_slow_down(
    response: httpx.Response, endpoint: str, now: datetime
) -> SlowDown | None:
    """Treat a 429 as a connection-wide slow-down, with its ``Retry-After``."""
    if response.status_code != 429:
        return None
    hint = parse_retry_after(response.headers.get("retry-after"), now)
    return SlowDown(retry_after=hint, reason="HTTP 429")


def jira_slow_down(
    response: httpx.Response, endpoint: str, now: datetime
) -> SlowDown | None:
    """Read Jira Cloud's 429s, and its 503s that carry ``Retry-After``.

    Jira names the limit that was hit in ``RateLimit-Reason``
    (``jira-burst-based``, ``jira-per-issue-on-write``, ...).
    """
    status = response.status_code
    header = response.headers.get("retry-after")
    if status != 429 and not (status == 503 and header is not None):
        return None
    reason = response.headers.get("ratelimit-reason", f"HTTP {status}")
    return SlowDown(retry_after=parse_retry_after(header, now), reason=reason)


def bitrix24_slow_down(
    response: httpx.Response, endpoint: str, now: datetime
) -> SlowDown | None:
    """Read Bitrix24's two limits.

    ``503 QUERY_LIMIT_EXCEEDED`` is the portal's leaky bucket: every call
    waits. ``429 OPERATION_TIME_LIMIT`` blocks only the method that spent its
    operating time, so only that endpoint waits, until the
    ``time.operating_reset_at`` the answer carries when it carries one.
    """
    if response.status_code not in (429, 503):
        return None
    body = _json_object(response)
    error = str(body.get("error", ""))
    if error == "QUERY_LIMIT_EXCEEDED":
        return SlowDown(reason=error)
    if error == "OPERATION_TIME_LIMIT":
        return SlowDown(_operating_reset(body, now), scope=endpoint, reason=error)
    return None


def trello_slow_down(
    response: httpx.Response, endpoint: str, now: datetime
) -> SlowDown | None:
    """Read Trello's 429s, which name the exhausted limit in the body.

    Trello sends no ``Retry-After``. Its windows last ten seconds, so the
    answer asks for one window's wait.
    """
    if response.status_code != 429:
        return None
    error = str(_json_object(response).get("error", "HTTP 429"))
    return SlowDown(retry_after=10.0, reason=error)


def toggl_slow_down(
    response: httpx.Response, endpoint: str, now: datetime
) -> SlowDown | None:
    """Read Toggl Track's 402 (hourly quota spent) and 429 (too fast).

    The quota window is an hour long, so a 402 asks for an hour: a run with
    a shorter wait limit stops at once instead of spinning.
    """
    hint = parse_retry_after(response.headers.get("retry-after"), now)
    if response.status_code == 402:
        return SlowDown(retry_after=hint or 3600.0, reason="hourly quota")
    if response.status_code == 429:
        return SlowDown(retry_after=hint, reason="HTTP 429")
    return None


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _operating_reset(body: dict[str, Any], now: datetime) -> float | None:
    timing = body.get("time")
    if not isinstance(timing, dict):
        return None
    reset_at = timing.get("operating_reset_at")
    if not isinstance(reset_at, int | float):
        return None
    seconds = float(reset_at) - now.timestamp()
    return seconds if seconds > 0 else None
