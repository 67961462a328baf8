"""The HTTP client connectors talk to their services through.

:class:`ServiceClient` wraps ``httpx.AsyncClient`` with what every
connector needs: limiters that model the service's documented limits,
retries on the injected clock, slow-down answers recognised per service,
secrets masked in every log line and error, and per-endpoint counters.
The paging helpers walk lists by offset, page number, token, cursor or
time window.
"""

from servicesync_sdk.http._client import RequestOptions, ServiceClient
from servicesync_sdk.http._limits import (
    HourlyQuota,
    LeakyBucket,
    Limiter,
    LocalBudgets,
    WindowLimiter,
    fingerprint,
)
from servicesync_sdk.http._paging import (
    Paged,
    by_cursor,
    by_offset,
    by_page_number,
    by_token,
    by_window,
    chunked,
    run_chunked,
    time_windows,
)
from servicesync_sdk.http._retry import RetryPolicy, stop_after_clock, wait_server_hint
from servicesync_sdk.http._slowdown import (
    SlowDown,
    SlowDownClassifier,
    SlowedDown,
    bitrix24_slow_down,
    default_slow_down,
    jira_slow_down,
    parse_retry_after,
    toggl_slow_down,
    trello_slow_down,
)
from servicesync_sdk.http._stats import CallStats, ClientStats
from servicesync_sdk.http._throttle import Throttle

__all__ = [
    "CallStats",
    "ClientStats",
    "HourlyQuota",
    "LeakyBucket",
    "Limiter",
    "LocalBudgets",
    "Paged",
    "RequestOptions",
    "RetryPolicy",
    "ServiceClient",
    "SlowDown",
    "SlowDownClassifier",
    "SlowedDown",
    "Throttle",
    "WindowLimiter",
    "bitrix24_slow_down",
    "by_cursor",
    "by_offset",
    "by_page_number",
    "by_token",
    "by_window",
    "chunked",
    "default_slow_down",
    "fingerprint",
    "jira_slow_down",
    "parse_retry_after",
    "run_chunked",
    "stop_after_clock",
    "time_windows",
    "toggl_slow_down",
    "trello_slow_down",
    "wait_server_hint",
]
