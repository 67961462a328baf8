"""Asana webhooks: subscribing, the secret handshake, and signed deliveries.

Creating a webhook is a handshake: while ``POST /webhooks`` is in flight,
Asana posts ``X-Hook-Secret`` to the target, which must echo it. The secret
is kept in the credential vault under a key derived from the target URL
(each webhook has its own), and every later delivery to that URL must carry
``X-Hook-Signature``, the hex HMAC-SHA256 of the raw body under it.

A handshake is only answered while this connection is creating a webhook
for that URL: otherwise anyone could post a secret of their own choosing
and then sign forged deliveries with it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from servicesync.contract import RecordRef, WebhookRequest, WebhookResponse
from servicesync.errors import WebhookRejected
from servicesync_sdk.base import (
    EchoSecretHandshake,
    HmacSignature,
    SignedWebhookHandler,
)

from servicesync_asana._errors import raise_for_status

if TYPE_CHECKING:
    from servicesync_asana._connector import AsanaConnector

__all__ = [
    "HOOK_SECRET",
    "HOOK_SIGNATURE",
    "AsanaWebhookHandler",
    "Subscriptions",
    "hook_key",
]

logger = logging.getLogger(__name__)

HOOK_SECRET = "X-Hook-Secret"
HOOK_SIGNATURE = "X-Hook-Signature"
#: Seconds a handshake is awaited after a subscription is started.
_HANDSHAKE_WINDOW = 120.0


def hook_key(url: str) -> str:
    """Return the key of a webhook target: a hash of its path and query.

    Scheme and host are left out, since a proxy in front of servicesync may
    change them between what Asana calls and what the handler sees.
    """
    parts = urlsplit(url)
    target = f"{parts.path}?{parts.query}" if parts.query else parts.path
    return hashlib.sha256(target.encode()).hexdigest()[:24]


class Subscriptions:
    """The webhooks of one connection and the secrets they are signed with."""

    def __init__(self, connector: AsanaConnector) -> None:
        self.connector = connector

    async def subscribe(
        self, resource: str, target: str, filters: Sequence[dict[str, Any]] = ()
    ) -> str:
        """Create a webhook on ``resource`` posting to ``target``; return its gid.

        The handshake arrives while the call is in flight and is answered by
        this connection's handler (in this process or another one sharing
        the store).
        """
        self.expect(target)
        data: dict[str, Any] = {"resource": resource, "target": target}
        if filters:
            data["filters"] = list(filters)
        api = self.connector.api
        response = await api.http.post(
            "/webhooks", json={"data": data}, params={"opt_fields": "active,target"}
        )
        raise_for_status(response, f"create a webhook on {resource}")
        body = api.http.json(response)
        secret = body.get(HOOK_SECRET) if isinstance(body, dict) else None
        if secret and not self.secret_for(target):
            self.keep(target, str(secret))
        self._clear(target)
        return str(api.data(response, "create a webhook")["gid"])

    async def unsubscribe(self, webhook: str) -> None:
        """Delete the webhook ``webhook``."""
        response = await self.connector.api.http.delete(f"/webhooks/{webhook}")
        raise_for_status(response, f"delete the webhook {webhook}")

    def expect(self, target: str) -> None:
        """Allow a handshake for ``target`` for a little while."""
        until = self.connector.context.clock.now().timestamp() + _HANDSHAKE_WINDOW
        self.connector.context.state.put(self._pending(target), str(until))

    def expecting(self, url: str) -> bool:
        """Whether a handshake for ``url`` is awaited now."""
        raw = self.connector.context.state.get(self._pending(url))
        now = self.connector.context.clock.now().timestamp()
        return bool(raw) and float(str(raw)) > now

    def keep(self, url: str, secret: str) -> None:
        """Store the secret deliveries to ``url`` are signed with."""
        self.connector.context.credentials.put(
            f"webhook_secret:{hook_key(url)}", secret
        )
        self.connector.api.redactor.add(secret)
        logger.info("Stored the secret of an Asana webhook")

    def secret_for(self, url: str) -> str | None:
        """Return the secret deliveries to ``url`` must be signed with."""
        stored = self.connector.context.credentials.get(
            f"webhook_secret:{hook_key(url)}"
        )
        return stored or self.connector.config.webhook_secret

    def _clear(self, target: str) -> None:
        self.connector.context.state.put(self._pending(target), "")

    @staticmethod
    def _pending(url: str) -> str:
        return f"hook-pending:{hook_key(url)}"


class _TargetSignature:
    """``X-Hook-Signature`` checked with the secret of the request's URL."""

    def __init__(self, subscriptions: Subscriptions) -> None:
        self.subscriptions = subscriptions

    def verify(self, request: WebhookRequest, *, service: str = "") -> None:
        secret = self.subscriptions.secret_for(request.url)
        scheme = HmacSignature(secret=secret or "", header=HOOK_SIGNATURE)
        scheme.verify(request, service=service)


class _AwaitedHandshake:
    """Echo ``X-Hook-Secret`` only while a subscription to the URL is made."""

    def __init__(self, subscriptions: Subscriptions) -> None:
        self.subscriptions = subscriptions

    def answer(self, request: WebhookRequest) -> WebhookResponse | None:
        if not request.header(HOOK_SECRET):
            return None
        if not self.subscriptions.expecting(request.url):
            msg = "An Asana handshake arrived while no webhook was being created."
            raise WebhookRejected(msg, status=401, service="asana")
        keep = partial(self.subscriptions.keep, request.url)
        return EchoSecretHandshake(store=keep, header=HOOK_SECRET).answer(request)


class AsanaWebhookHandler(SignedWebhookHandler):
    """Answers handshakes, checks signatures, and names the tasks to re-read.

    Asana sends no delivery id, so a delivery is keyed by a hash of its raw
    body; a resent delivery carries the same body.
    """

    service = "asana"

    def __init__(self, connector: AsanaConnector) -> None:
        subscriptions = connector.webhooks
        super().__init__(
            _TargetSignature(subscriptions), [_AwaitedHandshake(subscriptions)]
        )

    def references(self, payload: Any) -> Sequence[RecordRef]:
        """Name the tasks and projects the delivery's events touched."""
        events = payload.get("events") if isinstance(payload, dict) else None
        refs: dict[RecordRef, None] = {}
        for event in events if isinstance(events, list) else []:
            for part in (event.get("resource"), event.get("parent")):
                ref = _reference(part)
                if ref is not None:
                    refs[ref] = None
        return list(refs)


def _reference(resource: Any) -> RecordRef | None:
    if not isinstance(resource, dict) or not resource.get("gid"):
        return None
    kind = resource.get("resource_type")
    if kind == "task":
        return RecordRef("tasks", str(resource["gid"]))
    if kind == "project":
        return RecordRef("projects", str(resource["gid"]))
    return None
