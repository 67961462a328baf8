"""The HTTP client of a Trello connection: credentials and Trello's limits."""

from __future__ import annotations

from collections.abc import Generator

import httpx
from servicesync.contract import ConnectorContext
from servicesync.logs import register_secrets
from servicesync.redaction import Redactor
from servicesync_sdk.http import (
    RetryPolicy,
    ServiceClient,
    WindowLimiter,
    fingerprint,
    trello_slow_down,
)

from servicesync_trello._config import TrelloConfig

__all__ = [
    "KEY_LIMIT",
    "MEMBERS_LIMIT",
    "TOKEN_LIMIT",
    "TrelloAuth",
    "build_client",
]

#: Requests each token may make per window of ``WINDOW`` seconds.
TOKEN_LIMIT = 100
#: Requests each API key may make per window, whatever the token.
KEY_LIMIT = 300
WINDOW = 10.0
#: Requests to ``/members/`` routes per token, in 900 seconds.
MEMBERS_LIMIT = 100
MEMBERS_WINDOW = 900.0


class TrelloAuth(httpx.Auth):
    """Adds the key and token to each request, as Trello documents two ways.

    Either as ``key`` and ``token`` query parameters, or as an OAuth header
    ``Authorization: OAuth oauth_consumer_key="…", oauth_token="…"``.
    """

    def __init__(self, key: str, token: str, *, in_header: bool) -> None:
        self._key = key
        self._token = token
        self._in_header = in_header

    def auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Put the credentials on ``request``."""
        if self._in_header:
            request.headers["Authorization"] = (
                f'OAuth oauth_consumer_key="{self._key}", oauth_token="{self._token}"'
            )
        else:
            request.url = request.url.copy_merge_params(
                {"key": self._key, "token": self._token}
            )
        yield request


def _is_members_route(endpoint: str) -> bool:
    return endpoint.partition(" ")[2].startswith("/members/")


def build_client(config: TrelloConfig, context: ConnectorContext) -> ServiceClient:
    """Return a client paced to Trello's limits for this key and token.

    Both limits hold at once: 100 requests per 10 seconds per token and 300
    per key (which other tokens of the application share), keyed by a
    fingerprint of each secret so that every connection, and with a shared
    budget store every process, using the same one draws on one budget.
    """
    token, key = fingerprint(config.token), fingerprint(config.api_key)
    budgets = context.budgets
    limiters = [
        WindowLimiter(f"trello:token:{token}", TOKEN_LIMIT, WINDOW, budgets=budgets),
        WindowLimiter(f"trello:key:{key}", KEY_LIMIT, WINDOW, budgets=budgets),
        WindowLimiter(
            f"trello:members:{token}",
            MEMBERS_LIMIT,
            MEMBERS_WINDOW,
            budgets=budgets,
            applies_to=_is_members_route,
        ),
    ]
    secrets = [s for s in (config.api_key, config.token, config.app_secret) if s]
    # httpx logs every URL it sends; with query-parameter credentials those
    # carry the key and token, so they are masked in every log record too.
    register_secrets(*secrets)
    return ServiceClient(
        config.base_url.rstrip("/"),
        clock=context.clock,
        service="trello",
        transport=context.transport,
        headers={"Accept": "application/json"},
        auth=TrelloAuth(
            config.api_key, config.token, in_header=config.auth_in == "header"
        ),
        redactor=Redactor(secrets),
        limiters=limiters,
        retry=RetryPolicy(max_attempts=6, max_elapsed=600.0),
        slow_down=trello_slow_down,
    )
