"""The base class of stateful fakes of an HTTP API."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

import httpx
from servicesync import Clock, SystemClock
from servicesync.redaction import Redactor
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import Message, Receive, Scope, Send

from servicesync_sdk.fakes._faults import (
    _CONNECTION_KINDS,
    FAULT_CHANNEL_HEADER,
    FAULT_HEADER,
    FaultKind,
    FaultPlan,
    FaultRule,
    FaultyTransport,
    damage_body,
)
from servicesync_sdk.fakes._holds import RequestHold
from servicesync_sdk.fakes._limits import Limiter, RateLimitRule
from servicesync_sdk.fakes._log import LoggedRequest, RequestLog
from servicesync_sdk.fakes._webhooks import WebhookSender

__all__ = ["FakeService"]

logger = logging.getLogger(__name__)

_CHANNEL = FAULT_CHANNEL_HEADER.encode()


class FakeService:
    """A stateful fake of one service's HTTP API, served as an ASGI app.

    A subclass owns its data (plain dicts and lists), declares its endpoints
    in :meth:`routes` as Starlette routes, checks the service's own
    credentials in :meth:`authenticate` and shapes the service's own error
    bodies in :meth:`error_response`. The base class adds what every fake
    needs around that: a clock, a seeded random source, rate limits, fault
    injection, webhooks, a redacted request log, and ways to serve it in
    process or on a loopback port.

    A request goes through these steps: fault selection, authentication,
    rate limits (in the order added), then the matching route. Handlers may
    raise :class:`starlette.exceptions.HTTPException`; it is answered with
    :meth:`error_response`. What :meth:`authenticate` puts in
    ``request.state`` is visible to the handlers.

    Args:
        clock: the clock for limits, timestamps and webhooks;
            :class:`~servicesync.VirtualClock` in tests,
            :class:`~servicesync.SystemClock` (possibly scaled) when served.
        seed: the seed of :attr:`random` and of the fault plan; the same seed
            replays the same faults and generated data.
        base_url: the URL clients use; serving on a port replaces it.

    Attributes:
        clock: the clock given.
        random: the random source for generated data.
        faults: the fault rules (:class:`FaultPlan`).
        rate_limits: the rate-limit rules, in the order they are checked.
        log: every request received (:class:`RequestLog`), credentials masked.
        webhooks: subscriptions and deliveries (:class:`WebhookSender`).
    """

    #: The service's short name, as the ``servicesync fake`` command prints it.
    name: ClassVar[str] = "fake"
    #: Clock seconds a timed-out request hangs on a real socket before it drops.
    hang_seconds: ClassVar[float] = 300.0
    #: Count rate limits before checking credentials (Bitrix24 counts every
    #: request from a portal and address, authenticated or not).
    limits_before_auth: ClassVar[bool] = False

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int | None = None,
        base_url: str = "http://fake.invalid",
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.random_seed = seed
        self.random = random.Random(seed)
        self.faults = FaultPlan(random.Random(self.random.getrandbits(64)))
        self.rate_limits: list[RateLimitRule] = []
        self.log = RequestLog()
        self.webhooks = WebhookSender(self.clock)
        self.base_url = base_url
        #: Raise handler exceptions to the caller (in process) after logging
        #: them as 500s; serving on a port turns this off.
        self.raise_server_exceptions = True
        self._app: Starlette | None = None
        self._holds: list[RequestHold] = []

    # -- what subclasses provide ------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        """Return the service's endpoints as Starlette routes."""
        raise NotImplementedError(f"{type(self).__name__} declares no routes.")

    async def authenticate(self, request: Request) -> Response | None:
        """Check the service's credentials on ``request``.

        Returns:
            ``None`` to let the request through, or the service's own refusal
            (for example a 401 with its error body). The default lets
            everything through.
        """
        return None

    def credentials(self) -> dict[str, str]:
        """Return what a client needs to call this fake (tokens, keys, URLs)."""
        return {}

    def secrets(self) -> Iterable[str]:
        """Return the values the request log must never contain.

        The default is every credential value except the base URL.
        """
        return [v for v in self.credentials().values() if v != self.base_url]

    def error_response(self, status: int, message: str) -> Response:
        """Return the service's own error answer (404s, 405s, faults, 500s).

        The default body is ``{"error": message}``; a fake overrides it with
        the shape its service uses.
        """
        return JSONResponse({"error": message}, status_code=status)

    def seed(self, **records: Iterable[Mapping[str, Any]]) -> None:
        """Load records directly into the fake's data, bypassing its API.

        A fake accepts through its own API the records its connector reads,
        so seeding over HTTP always works; this hook is a shortcut a fake may
        offer, keyed by collection name.
        """
        raise NotImplementedError(f"{type(self).__name__} has no direct seeding.")

    # -- configuration -----------------------------------------------------

    def add_rate_limit(
        self,
        limiter: Limiter,
        *,
        reject: Callable[..., Response],
        key: Callable[[Request], Hashable] | None = None,
        applies: Callable[[Request], bool] | None = None,
        cost: float | Callable[[Request], float] = 1.0,
    ) -> RateLimitRule:
        """Count requests against ``limiter``; see :class:`RateLimitRule`."""
        rule = RateLimitRule(limiter, reject, key, applies, cost)
        self.rate_limits.append(rule)
        return rule

    # -- serving in process --------------------------------------------------

    def transport(self) -> FaultyTransport:
        """Return an httpx transport that carries requests to this fake in process."""
        return FaultyTransport(httpx.ASGITransport(app=self))

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        """Return an :class:`httpx.AsyncClient` bound to this fake in process."""
        kwargs.setdefault("base_url", self.base_url)
        return httpx.AsyncClient(transport=self.transport(), **kwargs)

    # -- the ASGI app ---------------------------------------------------------

    @property
    def app(self) -> Starlette:
        """The Starlette app that answers once faults, auth and limits allow."""
        if self._app is None:
            handlers = {404: self._http_error, 405: self._http_error}
            self._app = Starlette(
                routes=list(self.routes()),
                exception_handlers={HTTPException: self._http_error, **handlers},
            )
        return self._app

    def route_of(self, scope: Scope) -> str:
        """Return the route template matching ``scope``, or its path.

        A full match also adds ``path_params`` to ``scope``, so that
        :meth:`authenticate` and rate-limit keys can read them.
        """
        for route in self.app.routes:
            match, child = route.matches(scope)
            if match is Match.FULL and "path_params" in child:
                # Only the parameters: a mount's child scope also moves
                # root_path, which would send the router astray.
                scope["path_params"] = child["path_params"]
            if match is not Match.NONE:
                return str(getattr(route, "path", scope["path"]))
        return str(scope["path"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        route = self.route_of(scope)
        for hold in list(self._holds):
            if hold.matches(scope["method"], route):
                await hold.wait()
        at = self.clock.now()
        rule = self.faults.pick(scope["method"], scope["path"], route)
        if rule is not None and rule.kind is FaultKind.ERROR:
            start, chunks = await _capture(self._fault_error(rule), scope, body)
        elif (
            rule is not None
            and rule.kind in _CONNECTION_KINDS
            and not rule.after_processing
        ):
            self._record(scope, route, 0, at, rule)
            await self._break_connection(rule.kind, scope, send)
            return
        else:
            try:
                start, chunks = await self._process(scope, body)
            except Exception:
                self._record(scope, route, 500, at, rule)
                raise
        status = int(start["status"])
        self._record(scope, route, status, at, rule)
        if rule is not None and rule.kind in _CONNECTION_KINDS:
            await self._break_connection(rule.kind, scope, send)
            return
        if rule is not None:
            chunks = [damage_body(rule.kind, b"".join(chunks))]
        await _replay_response(start, chunks, send)

    async def _process(self, scope: Scope, body: bytes) -> tuple[Message, list[bytes]]:
        request = Request(scope, _replayer(body))
        if self.limits_before_auth:
            refusal = self.check_rate_limits(request)
            refusal = refusal or await self.authenticate(request)
        else:
            refusal = await self.authenticate(request)
            refusal = refusal or self.check_rate_limits(request)
        try:
            return await _capture(refusal or self.app, scope, body)
        except Exception:
            logger.exception(
                "%s failed on %s %s",
                type(self).__name__,
                scope["method"],
                scope["path"],
            )
            if self.raise_server_exceptions:
                raise
            error = self.error_response(500, "The fake failed on this request.")
            return await _capture(error, scope, body)

    def hold(
        self, *, method: str | None = None, route: str | None = None
    ) -> RequestHold:
        """Keep matching requests waiting, unanswered, until the hold is released.

        For a fake served on a port: a test waits with
        :meth:`RequestHold.wait_held` until its client is blocked on a call,
        acts (kills the client, say), then releases. A released hold is
        forgotten; held requests then go through as any other.
        """
        self._holds = [held for held in self._holds if not held.released]
        hold = RequestHold(method, route)
        self._holds.append(hold)
        return hold

    def check_rate_limits(self, request: Request) -> Response | None:
        """Count ``request`` against every rule; return the first refusal."""
        for rule in self.rate_limits:
            refusal = rule.check(request)
            if refusal is not None:
                return refusal
        return None

    def _fault_error(self, rule: FaultRule) -> Response:
        return self.error_response(
            rule.status, "The service is temporarily unavailable."
        )

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        detail = str(getattr(exc, "detail", "")) or "The request failed."
        return self.error_response(status, detail)

    async def _break_connection(
        self, kind: FaultKind, scope: Scope, send: Send
    ) -> None:
        if _has_channel(scope):
            headers = [(FAULT_HEADER.encode(), kind.value.encode())]
            await _replay_response({"status": 599, "headers": headers}, [b""], send)
            return
        if kind is FaultKind.TIMEOUT:
            await self.clock.sleep(self.hang_seconds)
        await _abort(send)

    def _record(
        self, scope: Scope, route: str, status: int, at: Any, rule: FaultRule | None
    ) -> None:
        redactor = Redactor(self.secrets())
        query = scope.get("query_string", b"").decode("latin-1")
        masked_query = (
            redactor.url(f"http://fake/?{query}").partition("?")[2] if query else ""
        )
        entry = LoggedRequest(
            method=scope["method"],
            path=redactor.text(scope["path"]),
            route=redactor.text(route),
            query=masked_query,
            status=status,
            at=at,
            fault=rule.label if rule is not None else None,
        )
        self.log.append(entry)
        logger.debug("%s %s %s -> %d", self.name, entry.method, entry.path, status)


def _has_channel(scope: Scope) -> bool:
    return any(k == _CHANNEL for k, _ in scope.get("headers", ()))


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replayer(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            # Nothing more will come: behave like a client that waits.
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _capture(
    app: Callable[[Scope, Receive, Send], Any], scope: Scope, body: bytes
) -> tuple[Message, list[bytes]]:
    start: Message = {"status": 500, "headers": []}
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, _replayer(body), send)
    return start, chunks


async def _replay_response(start: Message, chunks: list[bytes], send: Send) -> None:
    body = b"".join(chunks)
    headers = [
        (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
    ]
    headers.append((b"content-length", str(len(body)).encode()))
    await send(
        {"type": "http.response.start", "status": start["status"], "headers": headers}
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _abort(send: Send) -> None:
    # uvicorn binds ``send`` to the connection's request cycle, which holds
    # the socket's transport; aborting it is what a crashed peer looks like.
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        transport.abort()
        await asyncio.sleep(0)
        return
    # Elsewhere, promise a body that never comes; the server must then close.
    headers = [(b"content-length", b"1024")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    raise ConnectionAbortedError("The fake dropped the connection on purpose.")
