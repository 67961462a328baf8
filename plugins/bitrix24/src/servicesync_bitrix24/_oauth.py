"""OAuth access tokens for a Bitrix24 application, refreshed before they expire.

The portal's OAuth server rotates refresh tokens: each refresh returns a new
one and retires the old. The new refresh token is written to the credential
vault *before* the new access token is used, so a crash right after a
refresh never leaves the connection holding only a dead token. Only one
process refreshes at a time, under ``context.locks`` when the deployment has
them.
"""

from __future__ import annotations

import logging
import uuid

import httpx
from servicesync.contract import ConnectorContext
from servicesync.errors import AuthenticationError

from servicesync_bitrix24._config import Bitrix24Config

__all__ = ["TokenKeeper"]

logger = logging.getLogger(__name__)

_MARGIN = 120.0
_LOCK_TTL = 60.0


class TokenKeeper:
    """Holds the current access token and renews it through the OAuth server."""

    def __init__(
        self,
        config: Bitrix24Config,
        context: ConnectorContext,
        http: httpx.AsyncClient,
    ) -> None:
        self._config = config
        self._context = context
        self._http = http
        self._owner = uuid.uuid4().hex
        self._access = context.credentials.get("access_token") or config.access_token
        expires = context.credentials.get("access_expires")
        self._expires = float(expires) if expires else 0.0

    async def token(self) -> str:
        """Return an access token valid for a while yet, refreshing if needed."""
        now = self._context.clock.now().timestamp()
        if self._access and self._expires - _MARGIN > now:
            return self._access
        await self.refresh()
        assert self._access is not None
        return self._access

    async def refresh(self) -> None:
        """Swap the stored refresh token for a new pair, one process at a time."""
        lock = f"bitrix24:{self._context.connection}:oauth"
        locks = self._context.locks
        for _ in range(30):
            if locks is None or locks.try_acquire(lock, self._owner, _LOCK_TTL):
                break
            await self._context.clock.sleep(1.0)
        else:
            msg = f"Another process kept the OAuth refresh lock {lock!r} for 30 s."
            raise AuthenticationError(msg, service="bitrix24")
        try:
            await self._refresh_locked()
        finally:
            if locks is not None:
                locks.release(lock, self._owner)

    async def _refresh_locked(self) -> None:
        vault = self._context.credentials
        stored = vault.get("access_token")
        expires = float(vault.get("access_expires") or 0)
        now = self._context.clock.now().timestamp()
        if stored and stored != self._access and expires - _MARGIN > now:
            # Another process refreshed while this one waited for the lock.
            self._access, self._expires = stored, expires
            return
        refresh = vault.get("refresh_token") or self._config.refresh_token
        params = {
            "grant_type": "refresh_token",
            "client_id": self._config.client_id or "",
            "client_secret": self._config.client_secret or "",
            "refresh_token": refresh or "",
        }
        response = await self._http.get(self._config.oauth_server_url, params=params)
        if response.status_code != 200:
            msg = (
                f"The OAuth server refused the refresh with HTTP "
                f"{response.status_code}; authorise the application again."
            )
            raise AuthenticationError(msg, service="bitrix24", endpoint="oauth/token")
        body = response.json()
        # The old refresh token is already dead: keep the new one first.
        vault.put("refresh_token", str(body["refresh_token"]))
        expires = self._context.clock.now().timestamp() + float(body["expires_in"])
        vault.put("access_token", str(body["access_token"]))
        vault.put("access_expires", str(expires))
        self._access = str(body["access_token"])
        self._expires = expires
        logger.info(
            "Refreshed the Bitrix24 access token of %s", self._context.connection
        )
