"""The fake Asana service: auth, the per-token limit, ``/batch`` and its data."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import httpx
from servicesync import Clock
from servicesync_sdk.fakes import (
    Decision,
    FakeService,
    FixedWindow,
    HookSignature,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message

from servicesync_asana.fake._errors import FakeAsanaError, error_body
from servicesync_asana.fake._events import EventLog
from servicesync_asana.fake._hooks import FakeWebhook, build_hook_routes
from servicesync_asana.fake._http import API, answer
from servicesync_asana.fake._oauth import OAuthServer, build_oauth_routes
from servicesync_asana.fake._paging import Pager
from servicesync_asana.fake._records import FakeUser
from servicesync_asana.fake._routes import build_routes
from servicesync_asana.fake._state import Workspace

__all__ = ["AsanaFake"]

#: Actions one ``/batch`` call may carry.
BATCH_LIMIT = 10
_TOKEN_PATH = "/-/oauth_token"


class AsanaFake(FakeService):
    """An Asana workspace in memory, answering the REST API as Asana does.

    Args:
        clock: the fake's clock; times, jobs, token lifetimes and the rate
            limit follow it.
        seed: the seed of the fault plan and generated tokens.
        base_url: the web address; the API answers under ``/api/1.0``.
        requests_per_minute: the per-token budget (150 on free plans, 1,500
            on paid ones; every ``/batch`` action counts); ``None`` turns the
            limit off.
        offset_ttl: seconds a page's offset token stays valid.

    Example:
        >>> fake = AsanaFake(clock=VirtualClock())  # doctest: +SKIP
        >>> token = fake.add_token(fake.add_user("me@example.com", "Me").gid)
    """

    name = "asana"

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int | None = None,
        base_url: str = "https://app.asana.com",
        requests_per_minute: int | None = 150,
        offset_ttl: float = 3600.0,
    ) -> None:
        super().__init__(clock=clock, seed=seed, base_url=base_url)
        self.events = EventLog(self.clock, self.random)
        self.space = Workspace(self.clock, base_url, self._record_event)
        self.pager = Pager(offset_ttl)
        self.oauth = OAuthServer(self)
        self.tokens: dict[str, str] = {}
        self.hooks: dict[str, FakeWebhook] = {}
        #: Receives handshakes and deliveries in process; ``None`` posts over HTTP.
        self.hook_receiver: Callable[[httpx.Request], Any] | None = None
        self._failing_actions: dict[int, int] = {}
        self.set_budget(requests_per_minute)

    # -- the kit's hooks -------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        batch = Route(f"{API}/batch", answer()(self._batch), methods=["POST"])
        return [
            *build_routes(self),
            *build_hook_routes(self),
            *build_oauth_routes(self),
            batch,
        ]

    async def authenticate(self, request: Request) -> Response | None:
        if request.url.path == _TOKEN_PATH:
            return None
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        user = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        user = user or self.oauth.user_of(token.strip())
        if scheme.lower() != "bearer" or user is None:
            return self.error_response(401, "Not authorized: the token is not valid.")
        request.state.user = user
        request.state.token = token.strip()
        request.state.cost = await _cost(request)
        return None

    def credentials(self) -> dict[str, str]:
        space = self.space
        found = {f"token:{space.users[u].email}": t for t, u in self.tokens.items()}
        return {
            "base_url": self.base_url,
            "api_url": f"{self.base_url}{API}",
            "workspace": space.gid,
            "team": space.team,
            **found,
        }

    def secrets(self) -> Iterable[str]:
        # Everything but the addresses and gids, which are no secrets.
        return [
            *self.tokens,
            *self.oauth.secrets(),
            *(hook.secret for hook in self.hooks.values()),
        ]

    def error_response(self, status: int, message: str) -> Response:
        return JSONResponse(error_body(message, status), status_code=status)

    # -- people and tokens -----------------------------------------------

    def add_user(self, email: str, name: str) -> FakeUser:
        """Add a person to the workspace (an assignee, a team member)."""
        return self.space.add_user(email, name)

    def add_token(self, user_gid: str, token: str | None = None) -> str:
        """Issue a personal access token acting as ``user_gid``."""
        token = (
            token
            or f"2/{self.random.getrandbits(64)}/{self.random.getrandbits(128):032x}"
        )
        self.tokens[token] = user_gid
        return token

    # -- shortcuts for tests -------------------------------------------------

    def seed(self, **records: Iterable[Mapping[str, Any]]) -> None:
        """Add ``users`` (``email``, ``name``) directly to the workspace."""
        for user in records.get("users", ()):
            self.add_user(str(user["email"]), str(user["name"]))

    def fail_next_actions(self, positions: Iterable[int], status: int = 500) -> None:
        """Make the next ``/batch`` answer ``status`` for these actions, unapplied."""
        self._failing_actions = {int(p): status for p in positions}

    def add_webhook(
        self, resource: str, target: str, secret: str, owner: str | None = None
    ) -> FakeWebhook:
        """Register a webhook whose handshake succeeded, made by ``owner``."""
        subscription = self.webhooks.subscribe(
            target,
            HookSignature(secret),
            events=[f"resource:{resource}"],
            handler=self.hook_receiver,
        )
        hook = FakeWebhook(
            self.space.new_gid(),
            resource,
            target,
            secret,
            self.space.now(),
            subscription,
            owner,
        )
        self.hooks[hook.gid] = hook
        return hook

    # -- internals -------------------------------------------------------------

    def _record_event(self, event: dict[str, Any], watchers: set[str]) -> None:
        self.events.record(event, watchers)
        for resource in sorted({h.resource for h in self.hooks.values()} & watchers):
            self.webhooks.emit(f"resource:{resource}", {"events": [event]})

    def set_budget(self, per_minute: int | None) -> None:
        """Allow ``per_minute`` requests per token from now on; ``None`` lifts it."""
        self.rate_limits.clear()
        if per_minute is not None:
            self._add_budget(per_minute)

    def _add_budget(self, per_minute: int) -> None:
        def reject(decision: Decision) -> Response:
            wait = max(1, math.ceil(decision.retry_after))
            body = error_body(
                "Too many requests for this token in the last minute; "
                "retry after the time Retry-After gives.",
                429,
            )
            return JSONResponse(
                body, status_code=429, headers={"Retry-After": str(wait)}
            )

        self.add_rate_limit(
            FixedWindow(limit=per_minute, seconds=60.0, clock=self.clock),
            reject=reject,
            key=lambda request: getattr(request.state, "token", None),
            applies=lambda request: request.url.path != _TOKEN_PATH,
            cost=lambda request: float(getattr(request.state, "cost", 1.0)),
        )

    async def _batch(self, request: Request) -> Any:
        try:
            body = json.loads(await request.body() or b"{}")
            actions = body["data"]["actions"]
        except (ValueError, KeyError, TypeError):
            raise FakeAsanaError(400, "data.actions: Missing input") from None
        if not isinstance(actions, list) or not actions:
            raise FakeAsanaError(400, "data.actions: Give at least one action.")
        if len(actions) > BATCH_LIMIT:
            msg = f"data.actions: At most {BATCH_LIMIT} actions fit in one batch."
            raise FakeAsanaError(400, msg)
        state = dict(request.scope.get("state") or {})
        failing, self._failing_actions = self._failing_actions, {}
        results = await asyncio.gather(
            *(self._run_action(a, state, failing.get(n)) for n, a in enumerate(actions))
        )
        return {"data": list(results)}

    async def _run_action(
        self, action: Any, state: dict[str, Any], fail: int | None = None
    ) -> dict[str, Any]:
        if fail is not None:
            return _result(fail, error_body("The action failed on the server.", fail))
        if not isinstance(action, dict) or not action.get("relative_path"):
            return _result(400, error_body("relative_path: Missing input", 400))
        path = str(action["relative_path"])
        method = str(action.get("method") or "").upper()
        if "?" in path:
            return _result(400, error_body("Query parameters go in data.", 400))
        if method not in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"):
            return _result(400, error_body("method: Not a valid method.", 400))
        data = action.get("data") or {}
        options = action.get("options") or {}
        query = {k: str(v) for k, v in data.items()} if method == "GET" else {}
        if options.get("fields"):
            query["opt_fields"] = ",".join(options["fields"])
        query.update({k: str(options[k]) for k in ("limit", "offset") if k in options})
        content = (
            b"" if method in ("GET", "DELETE") else json.dumps({"data": data}).encode()
        )
        status, payload = await self._call_inside(method, path, query, content, state)
        return _result(status, payload)

    async def _call_inside(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        content: bytes,
        state: dict[str, Any],
    ) -> tuple[int, dict[str, Any]]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "https",
            "path": f"{API}{path}",
            "raw_path": f"{API}{path}".encode(),
            "root_path": "",
            "query_string": urlencode(query).encode(),
            "headers": [(b"content-type", b"application/json")],
            "server": ("app.asana.com", 443),
            "client": ("127.0.0.1", 0),
            "state": dict(state),
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()
            sent = True
            return {"type": "http.request", "body": content, "more_body": False}

        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        raw = b"".join(chunks)
        return int(started.get("status", 500)), json.loads(raw) if raw else {}


async def _cost(request: Request) -> float:
    """Each ``/batch`` action counts against the budget on its own."""
    if request.url.path != f"{API}/batch":
        return 1.0
    try:
        actions = json.loads(await request.body())["data"]["actions"]
    except (ValueError, KeyError, TypeError):
        return 1.0
    return float(max(1, len(actions))) if isinstance(actions, list) else 1.0


def _result(status: int, body: dict[str, Any]) -> dict[str, Any]:
    headers: dict[str, str] = {}
    data = body.get("data")
    if status == 201 and isinstance(data, dict) and data.get("gid"):
        kind = str(data.get("resource_type") or "resource")
        headers["location"] = f"/{kind}s/{data['gid']}"
    return {"status_code": status, "headers": headers, "body": body}
