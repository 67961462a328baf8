"""Signed webhook delivery from a fake to a subscriber.

A fake keeps its subscriptions in a :class:`WebhookSender`. Handlers emit
events; the sender queues one delivery per matching subscription and POSTs
them when flushed, signed with the subscription's scheme. A subscriber can be
an ASGI app or an httpx handler function (in process) or a real URL.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
from servicesync import Clock
from starlette.types import ASGIApp

from servicesync_sdk.signatures import (
    sign_hmac_sha1_b64,
    sign_hmac_sha256_hex,
    sign_jwt_hs256,
)

__all__ = [
    "ApplicationToken",
    "HookSignature",
    "HubSignature",
    "JwtAuthorization",
    "SignedWebhook",
    "Subscription",
    "TrelloSignature",
    "WebhookDelivery",
    "WebhookHandlerFunction",
    "WebhookScheme",
    "WebhookSender",
    "form_encode",
]

logger = logging.getLogger(__name__)

WebhookHandlerFunction = (
    Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
)


@dataclass(frozen=True)
class SignedWebhook:
    """The headers and raw body of one webhook POST."""

    headers: dict[str, str]
    body: bytes


class WebhookScheme(Protocol):
    """How a service encodes and signs a webhook payload."""

    def prepare(
        self, payload: Mapping[str, Any], url: str, now: datetime
    ) -> SignedWebhook:
        """Encode ``payload`` for delivery to ``url`` at time ``now``."""
        ...


def _json_body(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


_JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class HubSignature:
    """``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the body>`` (Jira admin webhooks).

    Toggl uses the same form under ``X-Webhook-Signature-256``: pass it as
    ``header``.
    """

    secret: str
    header: str = "X-Hub-Signature"
    prefix: str = "sha256="

    def prepare(
        self, payload: Mapping[str, Any], url: str, now: datetime
    ) -> SignedWebhook:
        """Sign the JSON body with HMAC-SHA256 in hex."""
        body = _json_body(payload)
        signature = self.prefix + sign_hmac_sha256_hex(self.secret, body)
        return SignedWebhook({**_JSON, self.header: signature}, body)


@dataclass(frozen=True)
class HookSignature:
    """``X-Hook-Signature: <hex HMAC-SHA256 of the body>`` (Asana)."""

    secret: str
    header: str = "X-Hook-Signature"

    def prepare(
        self, payload: Mapping[str, Any], url: str, now: datetime
    ) -> SignedWebhook:
        """Sign the JSON body with HMAC-SHA256 in hex, without a prefix."""
        body = _json_body(payload)
        return SignedWebhook(
            {**_JSON, self.header: sign_hmac_sha256_hex(self.secret, body)}, body
        )


@dataclass(frozen=True)
class TrelloSignature:
    """``X-Trello-Webhook``: base64 HMAC-SHA1 of the body then the callback URL."""

    secret: str
    header: str = "X-Trello-Webhook"

    def prepare(
        self, payload: Mapping[str, Any], url: str, now: datetime
    ) -> SignedWebhook:
        """Sign the JSON body followed by the URL as it was registered."""
        body = _json_body(payload)
        signature = sign_hmac_sha1_b64(self.secret, body + url.encode())
        return SignedWebhook({**_JSON, self.header: signature}, body)


@dataclass(frozen=True)
class ApplicationToken:
    """A shared token in the form field ``auth[application_token]`` (Bitrix24).

    The payload is sent as ``application/x-www-form-urlencoded`` with nested
    keys written ``data[FIELDS][ID]``.
    """

    token: str

    def prepare(
        self, payload: Mapping[str, Any], url: str, now: datetime
    ) -> SignedWebhook:
        """Form-encode the payload with the token added under ``auth``."""
        auth = dict(payload.get("auth") or {})
        auth["application_token"] = self.token
        body = form_encode({**payload, "auth": auth}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return SignedWebhook(headers, body)


@dataclass(frozen=True)
class JwtAuthorization:
    """A JWT signed with HS256 in the ``Authorization`` header (Jira dynamic webhooks).

    Claims are ``iss``, ``iat``, ``exp`` (``lifetime`` seconds later, on the
    fake's clock) and any ``claims`` given.
    """

    secret: str
    issuer: str = "servicesync-fake"
    lifetime: float = 180.0
    prefix: str = "Bearer "
    claims: Mapping[str, Any] = field(default_factory=dict)

    def prepare(
        self, payload: Mapping[str, Any], url: str, now: datetime
    ) -> SignedWebhook:
        """Send the JSON body with a freshly signed token."""
        issued = int(now.timestamp())
        claims = {
            **self.claims,
            "iss": self.issuer,
            "iat": issued,
            "exp": int((now + timedelta(seconds=self.lifetime)).timestamp()),
        }
        token = sign_jwt_hs256(self.secret, claims)
        headers = {**_JSON, "Authorization": self.prefix + token}
        return SignedWebhook(headers, _json_body(payload))


def form_encode(payload: Mapping[str, Any]) -> str:
    """Encode nested mappings and lists as PHP-style form fields.

    Example:
        >>> form_encode({"data": {"FIELDS": {"ID": 7}}})
        'data%5BFIELDS%5D%5BID%5D=7'
    """
    return urlencode(list(_flatten(payload, "")))


def _flatten(value: Any, prefix: str) -> Iterable[tuple[str, str]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _flatten(v, f"{prefix}[{k}]" if prefix else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _flatten(v, f"{prefix}[{i}]")
    else:
        yield prefix, "" if value is None else str(value)


_ids = itertools.count(1)


@dataclass
class Subscription:
    """Where a fake sends webhooks, and how it signs them.

    Attributes:
        url: the callback URL as registered (signatures may cover it).
        scheme: the encoding and signature.
        events: the event names delivered; empty means every event.
        app: an ASGI app that receives the POSTs in process.
        handler: an httpx handler function that receives them in process.
        id: a number unique within the process.
    """

    url: str
    scheme: WebhookScheme
    events: frozenset[str] = frozenset()
    app: ASGIApp | None = None
    handler: WebhookHandlerFunction | None = None
    id: int = field(default_factory=lambda: next(_ids))

    def wants(self, event: str) -> bool:
        """Whether this subscription receives ``event``."""
        return not self.events or event in self.events


@dataclass(frozen=True)
class WebhookDelivery:
    """One webhook POST and how it went.

    Attributes:
        subscription: where it went.
        event: the event name.
        headers: the headers sent, signatures included.
        body: the raw body sent.
        status: the subscriber's status, or ``None`` if the POST failed.
        error: why the POST failed, if it did.
    """

    subscription: Subscription
    event: str
    headers: dict[str, str]
    body: bytes
    status: int | None
    error: str | None = None


class WebhookSender:
    """The subscriptions of a fake and the webhooks queued for them.

    Args:
        clock: the fake's clock, for timestamps inside signatures.
        timeout: seconds a real-network POST may take.
    """

    def __init__(self, clock: Clock, *, timeout: float = 10.0) -> None:
        self.clock = clock
        self.timeout = timeout
        self.subscriptions: list[Subscription] = []
        self.pending: list[tuple[Subscription, str, dict[str, Any]]] = []
        self.deliveries: list[WebhookDelivery] = []
        #: Deliver queued webhooks as soon as they are emitted (when served).
        self.auto_deliver = False
        self._tasks: set[asyncio.Task[list[WebhookDelivery]]] = set()
        self._sending = 0

    @property
    def settled(self) -> bool:
        """Whether every webhook emitted so far has been answered or has failed."""
        return not self.pending and self._sending == 0

    def subscribe(
        self,
        url: str,
        scheme: WebhookScheme,
        *,
        events: Iterable[str] = (),
        app: ASGIApp | None = None,
        handler: WebhookHandlerFunction | None = None,
    ) -> Subscription:
        """Register a callback; with neither ``app`` nor ``handler`` it is real HTTP."""
        if app is not None and handler is not None:
            raise ValueError(
                "A webhook subscription takes an app or a handler, not both."
            )
        sub = Subscription(url, scheme, frozenset(events), app, handler)
        self.subscriptions.append(sub)
        return sub

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop delivering to ``subscription`` and drop what is queued for it."""
        self.subscriptions = [s for s in self.subscriptions if s.id != subscription.id]
        self.pending = [p for p in self.pending if p[0].id != subscription.id]

    def emit(self, event: str, payload: Mapping[str, Any]) -> int:
        """Queue ``payload`` for every subscription that wants ``event``.

        Returns:
            How many deliveries were queued.
        """
        targets = [s for s in self.subscriptions if s.wants(event)]
        self.pending.extend((s, event, dict(payload)) for s in targets)
        if targets and self.auto_deliver:
            task = asyncio.get_running_loop().create_task(self.flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(targets)

    async def flush(self) -> list[WebhookDelivery]:
        """Deliver every queued webhook, in order, and return the outcomes."""
        done: list[WebhookDelivery] = []
        while self.pending:
            sub, event, payload = self.pending.pop(0)
            done.append(await self.deliver(sub, payload, event=event))
        return done

    async def deliver(
        self, subscription: Subscription, payload: Mapping[str, Any], *, event: str = ""
    ) -> WebhookDelivery:
        """POST one payload to one subscription now, signed."""
        signed = subscription.scheme.prepare(
            payload, subscription.url, self.clock.now()
        )
        status: int | None = None
        error: str | None = None
        self._sending += 1
        try:
            async with self._client(subscription) as client:
                response = await client.post(
                    subscription.url, content=signed.body, headers=signed.headers
                )
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
            logger.warning(
                "Webhook %s to subscription %d failed: %s",
                event,
                subscription.id,
                error,
            )
        finally:
            self._sending -= 1
        delivery = WebhookDelivery(
            subscription, event, signed.headers, signed.body, status, error
        )
        self.deliveries.append(delivery)
        return delivery

    def _client(self, subscription: Subscription) -> httpx.AsyncClient:
        if subscription.app is not None:
            transport: httpx.AsyncBaseTransport = httpx.ASGITransport(
                app=subscription.app
            )
            return httpx.AsyncClient(transport=transport)
        if subscription.handler is not None:
            return httpx.AsyncClient(
                transport=httpx.MockTransport(subscription.handler)
            )
        return httpx.AsyncClient(timeout=self.timeout)
