"""Asana webhooks: subscribing, the secret handshake, and signed deliveries.

Creating a webhook is a handshake: while ``POST /webhooks`` is in flight,
Asana posts ``X-Hook-Secret`` to the target, which must echo it. Every later
delivery of that webhook carries ``X-Hook-Signature``, the hex HMAC-SHA256
of the raw body under its secret. Each webhook has a secret of its own, and
several webhooks (one per project) post to one URL, so the credential vault
keeps, under a key derived from the URL, every secret learnt for it with the
gid of its webhook once known; a delivery is taken when it is signed with
any of them, and deleting a webhook forgets its secret.

A handshake is only answered while this connection is creating a webhook
for that URL: otherwise anyone could post a secret of their own choosing
and then sign forged deliveries with it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from servicesync.contract import RecordRef, WebhookRequest, WebhookResponse
from servicesync.errors import WebhookRejected
from servicesync.logs import register_secrets
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
        the store); it is awaited only until the call returns.
        """
        data: dict[str, Any] = {"resource": resource, "target": target}
        if filters:
            data["filters"] = list(filters)
        api = self.connector.api
        self.expect(target)
        try:
            response = await api.http.post(
                "/webhooks",
                json={"data": data},
                params={"opt_fields": "active,target"},
            )
        finally:
            self._clear(target)
        gid = str(api.data(response, f"create a webhook on {resource}")["gid"])
        body = api.http.json(response)
        secret = body.get(HOOK_SECRET) if isinstance(body, dict) else None
        if secret:
            # The answer names the secret the handshake carried, which ties
            # that secret to this webhook's gid.
            self.keep(target, str(secret), webhook=gid)
        return gid

    async def unsubscribe(self, webhook: str, target: str | None = None) -> bool:
        """Delete the webhook ``webhook`` and forget its secret.

        Returns false when Asana no longer knew the webhook (it answered
        404): there was nothing left to delete.
        """
        response = await self.connector.api.http.delete(f"/webhooks/{webhook}")
        gone = response.status_code == 404
        if not gone:
            raise_for_status(response, f"delete the webhook {webhook}")
        if target is not None:
            self.forget(target, webhook)
        return not gone

    def expect(self, target: str) -> None:
        """Allow a handshake for ``target`` for a little while."""
        until = self.connector.context.clock.now().timestamp() + _HANDSHAKE_WINDOW
        self.connector.context.state.put(self._pending(target), str(until))

    def expecting(self, url: str) -> bool:
        """Whether a handshake for ``url`` is awaited now."""
        raw = self.connector.context.state.get(self._pending(url))
        now = self.connector.context.clock.now().timestamp()
        return bool(raw) and float(str(raw)) > now

    def keep(self, url: str, secret: str, webhook: str = "") -> None:
        """Store a secret deliveries to ``url`` may be signed with.

        ``webhook`` is the gid of the webhook it belongs to, when known; a
        secret learnt by handshake is kept before Asana has named the gid.
        """
        held = self._held(url)
        held[secret] = webhook or held.get(secret, "")
        self._save(url, held)
        self.connector.api.redactor.add(secret)
        logger.info("Stored the secret of an Asana webhook")

    def forget(self, url: str, webhook: str) -> None:
        """Drop the secret of the webhook ``webhook``, which posted to ``url``."""
        held = self._held(url)
        kept = {secret: gid for secret, gid in held.items() if gid != webhook}
        if kept != held:
            self._save(url, kept)

    def secrets_for(self, url: str) -> list[str]:
        """Return the secrets a delivery to ``url`` may be signed with.

        Those learnt for ``url``, else the connection's ``webhook_secret``.
        """
        learnt = list(self._held(url))
        fallback = self.connector.config.webhook_secret
        return learnt or ([fallback] if fallback else [])

    def _held(self, url: str) -> dict[str, str]:
        """Read the secrets of ``url``, each with its webhook's gid or ``""``.

        A value that is not a JSON object is taken as one bare secret whose
        webhook is not known.
        """
        raw = self.connector.context.credentials.get(_secret_key(url))
        if not raw:
            return {}
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            parsed = {raw: ""}
        held = {str(secret): str(gid) for secret, gid in parsed.items() if secret}
        register_secrets(*held)
        return held

    def _save(self, url: str, held: dict[str, str]) -> None:
        self.connector.context.credentials.put(_secret_key(url), json.dumps(held))

    def _clear(self, target: str) -> None:
        self.connector.context.state.put(self._pending(target), "")

    @staticmethod
    def _pending(url: str) -> str:
        return f"hook-pending:{hook_key(url)}"


def _secret_key(url: str) -> str:
    return f"webhook_secret:{hook_key(url)}"


class _TargetSignature:
    """``X-Hook-Signature`` checked with each secret of the request's URL."""

    def __init__(self, subscriptions: Subscriptions) -> None:
        self.subscriptions = subscriptions

    def verify(self, request: WebhookRequest, *, service: str = "") -> None:
        secrets = self.subscriptions.secrets_for(request.url) or [""]
        *others, last = [
            HmacSignature(secret=s, header=HOOK_SIGNATURE) for s in secrets
        ]
        for scheme in others:
            try:
                scheme.verify(request, service=service)
            except WebhookRejected:
                continue
            return
        # The last secret's refusal says why, when none matched.
        last.verify(request, service=service)


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
        """Name the tasks and projects the delivery's events touched.

        A task is named for the ``tasks`` stream and for ``progress``, whose
        roll-ups of the task's project are read again for it.
        """
        events = payload.get("events") if isinstance(payload, dict) else None
        refs: dict[RecordRef, None] = {}
        for event in events if isinstance(events, list) else []:
            for part in (event.get("resource"), event.get("parent")):
                refs.update(dict.fromkeys(_references(part)))
        return list(refs)


def _references(resource: Any) -> list[RecordRef]:
    if not isinstance(resource, dict) or not resource.get("gid"):
        return []
    gid, kind = str(resource["gid"]), resource.get("resource_type")
    if kind == "task":
        return [RecordRef("tasks", gid), RecordRef("progress", gid)]
    if kind == "project":
        return [RecordRef("projects", gid)]
    return []
