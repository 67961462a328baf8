"""The fake Trello: credentials, rate limits, webhooks and its data."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from email.utils import format_datetime
from typing import Any

import httpx
from servicesync import Clock
from servicesync_sdk.fakes import (
    Decision,
    FakeService,
    FixedWindow,
    RateLimitRule,
    TrelloSignature,
)
from servicesync_sdk.fakes._webhooks import WebhookHandlerFunction
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicesync_trello.fake._errors import FakeTrelloError, rate_limited, text_error
from servicesync_trello.fake._ids import IdFactory, is_id
from servicesync_trello.fake._routes import build_routes
from servicesync_trello.fake._state import TrelloState

__all__ = ["TrelloFake"]

_OAUTH_FIELD = re.compile(r'(oauth_consumer_key|oauth_token)="([^"]*)"')


class TrelloFake(FakeService):
    """Trello's REST API in memory, on the fake kit.

    Requests carry an application key and a member token, as ``key`` and
    ``token`` query parameters or in ``Authorization: OAuth
    oauth_consumer_key="…", oauth_token="…"``; refusals are Trello's plain
    texts (``invalid key``, ``invalid token``). Each token may make
    ``token_limit`` requests and each key ``key_limit`` in any window of
    ``window`` seconds; ``/1/members/`` routes allow ``members_limit`` per
    token in ``members_window`` seconds. A refusal is Trello's 429 with
    ``API_TOKEN_LIMIT_EXCEEDED`` or ``API_KEY_LIMIT_EXCEEDED``.

    Webhooks are registered through ``POST /1/webhooks/``, which first sends
    a ``HEAD`` to the callback; deliveries are signed with the secret of the
    key that registered them, over the body followed by the callback URL.

    Args:
        clock: the fake's clock; dates, ids and limits follow it.
        seed: the seed of generated ids, tokens and faults.
        base_url: the service's address; the API lives under ``/1``.
        limits: whether the rate limits apply at all.
    """

    name = "trello"

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int | None = None,
        base_url: str = "https://api.trello.com",
        limits: bool = True,
        token_limit: int = 100,
        key_limit: int = 300,
        window: float = 10.0,
        members_limit: int = 100,
        members_window: float = 900.0,
    ) -> None:
        super().__init__(clock=clock, seed=seed, base_url=base_url)
        ids = IdFactory(self.clock, self.random)
        self.state = TrelloState(self.clock, ids, lambda: self.random.getrandbits(47))
        self.applications: dict[str, str] = {}
        self.tokens: dict[str, tuple[str, str]] = {}
        self.hooks: dict[str, dict[str, Any]] = {}
        #: The token each webhook was created with, which lists it.
        self.hook_tokens: dict[str, str] = {}
        self.receivers: dict[str, dict[str, Any]] = {}
        self.token_rule: RateLimitRule | None = None
        self._settings: dict[str, str] = {}
        self.state.listeners.append(self._announce)
        if limits:
            self._add_limits(token_limit, key_limit, window)
            self._add_members_limit(members_limit, members_window)

    # -- the kit's hooks -----------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        return build_routes(self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Every Trello answer carries the server's Date, which clients may
        # read as the service's own time.
        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                stamp = format_datetime(self.clock.now(), usegmt=True).encode()
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"date", stamp)],
                }
            await send(message)

        await super().__call__(scope, receive, dated)

    async def authenticate(self, request: Request) -> Response | None:
        key, token = _credentials_of(request)
        if key is None or key not in self.applications:
            return text_error(401, "invalid key")
        if token is None:
            return text_error(401, "unauthorized permission requested")
        owner = self.tokens.get(token)
        if owner is None or owner[1] != key:
            return text_error(401, "invalid token")
        request.state.member_id = owner[0]
        request.state.token = token
        request.state.key = key
        return None

    def error_response(self, status: int, message: str) -> Response:
        return text_error(status, message)

    def credentials(self) -> dict[str, str]:
        found = {"base_url": f"{self.base_url}/1"}
        for n, (key, secret) in enumerate(self.applications.items()):
            found[f"api_key:{n}"] = key
            found[f"app_secret:{n}"] = secret
        for n, token in enumerate(self.tokens):
            found[f"token:{n}"] = token
        return found

    def secrets(self) -> Iterable[str]:
        return [*self.applications, *self.applications.values(), *self.tokens]

    def seed(self, **records: Iterable[Mapping[str, Any]]) -> None:
        """Load ``members`` (``username``, ``fullName``, ``email``) directly."""
        for member in records.pop("members", ()):
            self.add_member(
                str(member["username"]), str(member["fullName"]), str(member["email"])
            )
        if records:
            super().seed(**records)

    # -- accounts ------------------------------------------------------------

    def add_application(self) -> tuple[str, str]:
        """Register an application; return its API key and its secret."""
        key = f"{self.random.getrandbits(128):032x}"
        secret = f"{self.random.getrandbits(256):064x}"
        self.applications[key] = secret
        return key, secret

    def add_member(self, username: str, full_name: str, email: str) -> str:
        """Create a Trello account; return its id."""
        return str(self.state.add_member(username, full_name, email)["id"])

    def issue_token(self, member_id: str, key: str) -> str:
        """Issue a token by which application ``key`` acts as ``member_id``."""
        token = f"ATTA{self.random.getrandbits(256):064x}"
        self.tokens[token] = (member_id, key)
        return token

    def add_organization(self, name: str, display_name: str = "") -> str:
        """Create a Workspace; return its id."""
        return str(self.state.add_organization(name, display_name or name)["id"])

    def add_default_account(self) -> dict[str, str]:
        """Set up an application, a Workspace and a bot member with a token.

        Returns:
            The connection settings that reach the fake as that bot.
        """
        key, secret = self.add_application()
        org = self.add_organization("acme", "Acme Delivery")
        bot = self.add_member("servicesyncbot", "servicesync bot", "bot@example.com")
        self._settings = {
            "base_url": f"{self.base_url}/1",
            "api_key": key,
            "token": self.issue_token(bot, key),
            "app_secret": secret,
            "organization": org,
        }
        return dict(self._settings)

    def connection_settings(self) -> dict[str, str]:
        """Return the settings :meth:`add_default_account` made."""
        if not self._settings:
            raise LookupError("The fake has no default account; add one first.")
        return {**self._settings, "base_url": f"{self.base_url}/1"}

    # -- rate limits ---------------------------------------------------------

    def _add_limits(self, token_limit: int, key_limit: int, window: float) -> None:
        self.token_rule = self.add_rate_limit(
            FixedWindow(limit=token_limit, seconds=window, clock=self.clock),
            reject=lambda _d: rate_limited("API_TOKEN_LIMIT_EXCEEDED"),
            key=lambda r: r.state.token,
        )
        self.add_rate_limit(
            FixedWindow(limit=key_limit, seconds=window, clock=self.clock),
            reject=lambda _d: rate_limited("API_KEY_LIMIT_EXCEEDED"),
            key=lambda r: r.state.key,
        )

    def _add_members_limit(self, limit: int, window: float) -> None:
        def reject(_decision: Decision) -> Response:
            return rate_limited("API_TOKEN_LIMIT_EXCEEDED")

        self.add_rate_limit(
            FixedWindow(limit=limit, seconds=window, clock=self.clock),
            reject=reject,
            key=lambda r: r.state.token,
            applies=lambda r: r.url.path.startswith("/1/members/"),
        )

    def spend_token_window(self, token: str) -> None:
        """Use up what ``token`` may send in its current window (for tests)."""
        if self.token_rule is None:
            return
        limiter = self.token_rule.limiter
        assert isinstance(limiter, FixedWindow)
        limiter.acquire(token, limiter.limit - limiter.used(token))

    # -- webhooks ------------------------------------------------------------

    def add_receiver(
        self,
        url_prefix: str,
        *,
        handler: WebhookHandlerFunction | None = None,
        app: ASGIApp | None = None,
    ) -> None:
        """Send HEAD checks and deliveries for URLs under ``url_prefix`` in process.

        Give an httpx handler function or an ASGI app; URLs with no receiver
        are reached over the network.
        """
        if (handler is None) == (app is None):
            raise ValueError("A receiver is a handler or an app, exactly one.")
        self.receivers[url_prefix] = {"handler": handler} if handler else {"app": app}

    async def register_webhook(
        self, token: str, params: Mapping[str, Any], key: str
    ) -> dict[str, Any]:
        """Create a webhook after the callback answered Trello's ``HEAD`` with 200."""
        url = str(params.get("callbackURL") or "")
        model = str(params.get("idModel") or "")
        if not url.startswith(("http://", "https://")):
            raise FakeTrelloError(400, "invalid value for callbackURL")
        if not self._model_exists(model):
            raise FakeTrelloError(400, "invalid value for idModel")
        if any(
            hook["callbackURL"] == url and hook["idModel"] == model
            for hook in self.webhooks_of(token)
        ):
            msg = "A webhook with that callback, model, and token already exists"
            raise FakeTrelloError(400, msg)
        status = await self._head(url)
        if status != 200:
            msg = f"URL ({url}) did not return 200 status code, got {status}"
            raise FakeTrelloError(400, msg)
        hook: dict[str, Any] = {
            "id": self.state.ids.new(),
            "description": str(params.get("description") or ""),
            "idModel": model,
            "callbackURL": url,
            "active": str(params.get("active", "true")).lower() != "false",
            "consecutiveFailures": 0,
            "firstConsecutiveFailDate": None,
        }
        self.hooks[hook["id"]] = hook
        self.hook_tokens[hook["id"]] = token
        self.webhooks.subscribe(
            url,
            TrelloSignature(self.applications[key]),
            events=[f"webhook:{hook['id']}"],
            **self._receiver_for(url),
        )
        return hook

    def webhook(self, hook_id: str) -> dict[str, Any]:
        """Return a registered webhook, or raise 400 (a malformed id) or 404."""
        if not is_id(hook_id):
            raise FakeTrelloError(400, "invalid id")
        if hook_id not in self.hooks:
            raise FakeTrelloError(404, "The requested resource was not found.")
        return self.hooks[hook_id]

    def webhooks_of(self, token: str) -> list[dict[str, Any]]:
        """Return the webhooks created with ``token``, oldest first."""
        return [
            hook
            for hook_id, hook in self.hooks.items()
            if self.hook_tokens.get(hook_id) == token
        ]

    def remove_webhook(self, hook_id: str) -> None:
        """Delete a webhook and stop its deliveries."""
        self.webhook(hook_id)
        del self.hooks[hook_id]
        self.hook_tokens.pop(hook_id, None)
        for sub in list(self.webhooks.subscriptions):
            if f"webhook:{hook_id}" in sub.events:
                self.webhooks.unsubscribe(sub)

    def _announce(self, action: dict[str, Any]) -> None:
        data = action["data"]
        models = {
            data.get(part, {}).get("id"): part for part in ("board", "list", "card")
        }
        for hook in self.hooks.values():
            part = models.get(hook["idModel"])
            if part is None or not hook["active"]:
                continue
            payload = {
                "action": action,
                "model": self._model_view(part, hook["idModel"]),
                "webhook": hook,
            }
            self.webhooks.emit(f"webhook:{hook['id']}", payload)

    def _model_view(self, part: str, model_id: str) -> dict[str, Any]:
        if part == "board":
            return self.state.board_view(self.state.boards[model_id])
        table = self.state.lists if part == "list" else self.state.cards
        return dict(table[model_id])

    def _model_exists(self, model: str) -> bool:
        state = self.state
        return any(model in t for t in (state.boards, state.lists, state.cards))

    def _receiver_for(self, url: str) -> dict[str, Any]:
        prefixes = [p for p in self.receivers if url.startswith(p)]
        return dict(self.receivers[max(prefixes, key=len)]) if prefixes else {}

    async def _head(self, url: str) -> int | str:
        kwargs = self._receiver_for(url)
        if "app" in kwargs:
            transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=kwargs["app"])
        elif "handler" in kwargs:
            transport = httpx.MockTransport(kwargs["handler"])
        else:
            transport = httpx.AsyncHTTPTransport()
        try:
            async with httpx.AsyncClient(transport=transport, timeout=10.0) as client:
                return (await client.head(url)).status_code
        except httpx.HTTPError:
            return "no answer"


def _credentials_of(request: Request) -> tuple[str | None, str | None]:
    key = request.query_params.get("key")
    token = request.query_params.get("token")
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "oauth ":
        fields = dict(_OAUTH_FIELD.findall(header))
        key = fields.get("oauth_consumer_key", key)
        token = fields.get("oauth_token", token)
    return key, token
