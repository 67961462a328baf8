"""Bearer tokens for Asana: a personal access token, or OAuth tokens kept fresh.

An OAuth access token lives an hour. Before it runs out (or when Asana
refuses it early) the refresh token buys a new one at the token endpoint.
When the answer carries a new refresh token, the old one may already be
dead, so the new one is written to the credential vault *before* the new
access token is used: a crash between the two never leaves the connection
holding only a spent token. Only one process refreshes at a time, under
``context.locks`` when the deployment has them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncGenerator, Generator
from typing import Any

import httpx
from servicesync.contract import ConnectorContext
from servicesync.errors import AuthenticationError
from servicesync.redaction import Redactor

from servicesync_asana._config import AsanaConfig

__all__ = ["BearerAuth", "TokenKeeper"]

logger = logging.getLogger(__name__)

# A token this close to its expiry is refreshed before use.
_MARGIN = 120.0
_LOCK_TTL = 60.0
_LOCK_TRIES = 30

ACCESS = "oauth_access_token"
EXPIRES = "oauth_access_expires"
REFRESH = "oauth_refresh_token"


class TokenKeeper:
    """Holds the bearer token and, for OAuth, renews it at the token endpoint."""

    def __init__(
        self,
        config: AsanaConfig,
        context: ConnectorContext,
        http: httpx.AsyncClient,
        redactor: Redactor,
    ) -> None:
        self._config = config
        self._context = context
        self._http = http
        self._redactor = redactor
        self._owner = uuid.uuid4().hex
        vault = context.credentials
        self._access: str | None = None
        self._expires = 0.0
        if config.uses_oauth and vault.get(ACCESS):
            self._access = vault.get(ACCESS)
            self._expires = float(vault.get(EXPIRES) or 0)
        elif config.access_token:
            # A token from the config has no known expiry: it serves until
            # Asana refuses it.
            self._access = config.access_token
            self._expires = float("inf")
        if self._access:
            redactor.add(self._access)

    @property
    def refreshable(self) -> bool:
        """Whether a refused token can be replaced by a fresh one."""
        return self._config.uses_oauth

    async def token(self) -> str:
        """Return a bearer token that is good for a while yet."""
        if not self.refreshable:
            return str(self._access)
        now = self._context.clock.now().timestamp()
        if self._access and self._expires - _MARGIN > now:
            return self._access
        await self.refresh(stale=self._access)
        return str(self._access)

    async def refresh(self, stale: str | None) -> None:
        """Replace the token ``stale``, unless another caller already did."""
        if not self.refreshable:
            return
        lock = f"asana:{self._context.connection}:oauth"
        locks = self._context.locks
        for _ in range(_LOCK_TRIES):
            if locks is None or locks.try_acquire(lock, self._owner, _LOCK_TTL):
                break
            await self._context.clock.sleep(1.0)
        else:
            msg = f"Another process kept the OAuth refresh lock {lock!r} for 30 s."
            raise AuthenticationError(msg, service="asana")
        try:
            await self._refresh_locked(stale)
        finally:
            if locks is not None:
                locks.release(lock, self._owner)

    async def _refresh_locked(self, stale: str | None) -> None:
        vault = self._context.credentials
        stored = vault.get(ACCESS)
        expires = float(vault.get(EXPIRES) or 0)
        now = self._context.clock.now().timestamp()
        if stored and stored != stale and expires - _MARGIN > now:
            # Another process refreshed while this one waited for the lock.
            self._access, self._expires = stored, expires
            return
        body = await self._ask_token_endpoint(vault.get(REFRESH))
        fresh_refresh = body.get("refresh_token")
        if fresh_refresh:
            # The old refresh token may be spent already: keep the new first.
            self._redactor.add(str(fresh_refresh))
            vault.put(REFRESH, str(fresh_refresh))
        self._access = str(body["access_token"])
        self._redactor.add(self._access)
        self._expires = now + float(body.get("expires_in", 3600))
        vault.put(ACCESS, self._access)
        vault.put(EXPIRES, str(self._expires))
        logger.info("Refreshed the Asana access token of %s", self._context.connection)

    async def _ask_token_endpoint(self, refresh: str | None) -> dict[str, Any]:
        form = {
            "grant_type": "refresh_token",
            "client_id": self._config.client_id or "",
            "client_secret": self._config.client_secret or "",
            "refresh_token": refresh or self._config.refresh_token or "",
        }
        try:
            response = await self._http.post(self._config.token_url, data=form)
        except httpx.TransportError as exc:
            msg = (
                f"The Asana token endpoint could not be reached ({type(exc).__name__})."
            )
            raise AuthenticationError(msg, service="asana") from None
        if response.status_code != 200:
            msg = (
                f"The Asana token endpoint refused the refresh with HTTP "
                f"{response.status_code}; authorise the app again."
            )
            raise AuthenticationError(msg, service="asana", endpoint="oauth_token")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "access_token" not in body:
            msg = "The Asana token endpoint answered without an access token."
            raise AuthenticationError(msg, service="asana", endpoint="oauth_token")
        return body


class BearerAuth(httpx.Auth):
    """Puts the keeper's token on each request; refreshes once on a 401."""

    requires_request_body = True

    def __init__(self, keeper: TokenKeeper) -> None:
        self.keeper = keeper

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("The Asana connector only sends requests asynchronously.")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.keeper.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and self.keeper.refreshable:
            # An access token can die before its time (revoked, clock skew).
            await self.keeper.refresh(stale=token)
            request.headers["Authorization"] = f"Bearer {await self.keeper.token()}"
            yield request
