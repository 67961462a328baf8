"""The OAuth side of the fake portal: applications, tokens and their server.

An access token lives ``access_lifetime`` seconds on the portal's clock and
is then refused with 401 ``expired_token``. ``grant_type=refresh_token`` at
the token endpoint swaps a refresh token for a new pair; the old refresh
token stops working at once, so a client that loses the new one is locked
out, as on a real portal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from servicesync import Clock
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from servicesync_bitrix24._php import parse_query
from servicesync_bitrix24.fake._calls import Caller
from servicesync_bitrix24.fake._store import RestError

__all__ = ["OAuthServer"]


@dataclass
class _App:
    client_id: str
    client_secret: str
    application_token: str
    user_id: int


@dataclass
class OAuthServer:
    """Applications installed on the portal and the tokens issued to them."""

    clock: Clock
    new_code: Callable[[int], str]
    access_lifetime: float = 3600.0
    refresh_lifetime: float = 180 * 86400.0
    apps: dict[str, _App] = field(default_factory=dict)
    access: dict[str, tuple[str, float]] = field(default_factory=dict)
    refresh: dict[str, tuple[str, float]] = field(default_factory=dict)
    refreshes: int = 0

    def add_app(self, client_id: str, client_secret: str, user_id: int = 1) -> str:
        """Install an application; return its ``application_token``."""
        token = self.new_code(32)
        self.apps[client_id] = _App(client_id, client_secret, token, user_id)
        return token

    def issue(self, client_id: str) -> dict[str, Any]:
        """Issue a first pair of tokens, as the authorization step would."""
        now = self.clock.now().timestamp()
        access, refresh = self.new_code(32), self.new_code(32)
        self.access[access] = (client_id, now + self.access_lifetime)
        self.refresh[refresh] = (client_id, now + self.refresh_lifetime)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires": int(now + self.access_lifetime),
            "expires_in": int(self.access_lifetime),
        }

    def secrets(self) -> Iterable[str]:
        """Every token and client secret issued."""
        yield from self.access
        yield from self.refresh
        yield from (app.client_secret for app in self.apps.values())

    def caller(self, token: str) -> Caller:
        """Return who holds ``token``, or raise the portal's 401."""
        entry = self.access.get(token)
        if entry is None:
            raise RestError(401, "NO_AUTH_FOUND", "Wrong authorization data")
        client_id, expires = entry
        if expires <= self.clock.now().timestamp():
            raise RestError(
                401, "expired_token", "The access token provided has expired."
            )
        app = self.apps[client_id]
        return Caller(f"app:{client_id}", app.user_id, app.application_token)

    async def endpoint(self, request: Request) -> Response:
        """``/oauth/token/``: swap a refresh token for a new pair."""
        params = parse_query(request.url.query)
        body = await request.body()
        if body:
            params.update(parse_query(body.decode()))
        if params.get("grant_type") != "refresh_token":
            return _error(
                400, "unsupported_grant_type", "Only refresh_token is served."
            )
        app = self.apps.get(str(params.get("client_id", "")))
        if app is None or app.client_secret != params.get("client_secret"):
            return _error(401, "invalid_client", "Invalid client credentials")
        entry = self.refresh.pop(str(params.get("refresh_token", "")), None)
        now = self.clock.now().timestamp()
        if entry is None or entry[0] != app.client_id or entry[1] <= now:
            return _error(400, "invalid_grant", "Invalid refresh token")
        self.refreshes += 1
        pair = self.issue(app.client_id)
        return JSONResponse(
            {
                **pair,
                "client_endpoint": f"{request.base_url}rest/",
                "domain": "oauth.bitrix.info",
                "member_id": "fake",
                "scope": "crm,task,user",
                "server_endpoint": "https://oauth.bitrix.info/rest/",
                "status": "L",
                "user_id": app.user_id,
            }
        )


def _error(status: int, code: str, description: str) -> Response:
    return JSONResponse(
        {"error": code, "error_description": description}, status_code=status
    )
