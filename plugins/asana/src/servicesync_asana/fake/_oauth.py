"""The fake's OAuth token endpoint: access tokens that expire, refresh tokens.

``rotate`` makes every refresh hand out a new refresh token and retire the
old one, the strictest behaviour a client must survive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from servicesync_asana.fake._service import AsanaFake

__all__ = ["OAuthApp", "OAuthServer", "build_oauth_routes"]

TOKEN_LIFETIME = 3600.0


@dataclass
class OAuthApp:
    """An OAuth app: its id and secret, and the user who authorised it."""

    client_id: str
    client_secret: str
    user: str


class OAuthServer:
    """Apps, refresh tokens and access tokens of the fake."""

    def __init__(self, fake: AsanaFake, *, rotate: bool = True) -> None:
        self.fake = fake
        self.rotate = rotate
        self.apps: dict[str, OAuthApp] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.access_tokens: dict[str, tuple[str, float]] = {}
        self.refreshes = 0

    def add_app(self, user: str) -> tuple[str, str, str]:
        """Register an app authorised by ``user``; return id, secret, refresh token."""
        rng = self.fake.random
        app = OAuthApp(f"{rng.getrandbits(48)}", f"{rng.getrandbits(128):032x}", user)
        self.apps[app.client_id] = app
        refresh = self._new_refresh(app.client_id)
        return app.client_id, app.client_secret, refresh

    def user_of(self, token: str) -> str | None:
        """The user an unexpired access token acts as."""
        found = self.access_tokens.get(token)
        if found is None or self.fake.clock.now().timestamp() >= found[1]:
            return None
        return found[0]

    def revoke_access(self) -> None:
        """Make every access token invalid before its time."""
        self.access_tokens.clear()

    def secrets(self) -> list[str]:
        """Every secret the server handed out."""
        return [
            *(a.client_secret for a in self.apps.values()),
            *self.refresh_tokens,
            *self.access_tokens,
        ]

    def grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer one token request: ``(status, body)``."""
        if form.get("grant_type") != "refresh_token":
            return 400, _error(
                "unsupported_grant_type", "Only refresh_token is served."
            )
        app = self.apps.get(form.get("client_id", ""))
        if app is None or app.client_secret != form.get("client_secret"):
            return 401, _error("invalid_client", "The client id or secret is wrong.")
        if self.refresh_tokens.get(form.get("refresh_token", "")) != app.client_id:
            return 400, _error("invalid_grant", "The refresh token is not valid.")
        self.refreshes += 1
        access = self._token(96)
        expires = self.fake.clock.now().timestamp() + TOKEN_LIFETIME
        self.access_tokens[access] = (app.user, expires)
        user = self.fake.space.users[app.user]
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": int(TOKEN_LIFETIME),
            "data": {
                "id": user.gid,
                "gid": user.gid,
                "name": user.name,
                "email": user.email,
            },
        }
        if self.rotate:
            del self.refresh_tokens[form["refresh_token"]]
            body["refresh_token"] = self._new_refresh(app.client_id)
        return 200, body

    def _token(self, bits: int) -> str:
        rng = self.fake.random
        return f"1/{rng.getrandbits(48)}:{rng.getrandbits(bits):0{bits // 4}x}"

    def _new_refresh(self, client_id: str) -> str:
        token = self._token(128)
        self.refresh_tokens[token] = client_id
        return token


def _error(code: str, description: str) -> dict[str, Any]:
    return {"error": code, "error_description": description}


def build_oauth_routes(fake: AsanaFake) -> list[Route]:
    """Return the token endpoint of ``fake``."""

    async def token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        status, body = fake.oauth.grant(form)
        return JSONResponse(body, status_code=status)

    return [Route("/-/oauth_token", token, methods=["POST"])]
