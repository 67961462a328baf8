"""Checking Trello's webhook deliveries and naming what they changed.

Trello signs a delivery with the application's secret: ``X-Trello-Webhook``
is the base64 HMAC-SHA1 of the raw body followed by the callback URL exactly
as it was registered, so the URL is kept when the webhook is registered.
When a webhook is created Trello first sends a ``HEAD`` to the callback,
which must answer 200.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from servicesync.contract import RecordRef, WebhookRequest, WebhookResponse
from servicesync.errors import WebhookRejected
from servicesync_sdk import HmacSignature, SignedWebhookHandler

if TYPE_CHECKING:
    from servicesync_trello._connector import TrelloConnector

__all__ = [
    "SIGNATURE_HEADER",
    "HeadCheck",
    "RegisteredCallback",
    "TrelloWebhookHandler",
]

SIGNATURE_HEADER = "X-Trello-Webhook"


class HeadCheck:
    """Answers the ``HEAD`` Trello sends to a callback before it registers it."""

    def answer(self, request: WebhookRequest) -> WebhookResponse | None:
        """Return 200 for a ``HEAD``; anything else is a delivery."""
        return WebhookResponse(status=200) if request.method.upper() == "HEAD" else None


@dataclass(frozen=True)
class RegisteredCallback:
    """The signature over body and callback URL, with the URL as registered."""

    connector: TrelloConnector

    def verify(self, request: WebhookRequest, *, service: str = "") -> None:
        """Raise ``WebhookRejected`` unless the signature matches, in constant time."""
        url = self.connector.callback_url()
        if not url:
            msg = (
                "A Trello delivery arrived but no callback URL is registered "
                "to check its signature against."
            )
            raise WebhookRejected(msg, status=401, service=service)
        scheme = HmacSignature(
            secret=self.connector.config.app_secret or "",
            header=SIGNATURE_HEADER,
            algorithm="sha1",
            encoding="base64",
            callback_url=url,
        )
        scheme.verify(request, service=service)


class TrelloWebhookHandler(SignedWebhookHandler):
    """Verifies deliveries, keys them by action, and names the records to re-read.

    A delivery carries one action; Trello sends the same action again when
    it retries, so the action's id is the delivery key.
    """

    service = "trello"

    def __init__(self, connector: TrelloConnector) -> None:
        super().__init__(RegisteredCallback(connector), [HeadCheck()])

    def delivery_key(self, request: WebhookRequest, payload: Any) -> str:
        """Return ``trello-action:<id>``, or a hash of the body without one."""
        action = payload.get("action") if isinstance(payload, dict) else None
        if isinstance(action, dict) and action.get("id"):
            return f"trello-action:{action['id']}"
        return super().delivery_key(request, payload)

    def references(self, payload: Any) -> Sequence[RecordRef]:
        """Return the card, list and board the action touched."""
        action = payload.get("action") if isinstance(payload, dict) else None
        data = action.get("data") if isinstance(action, dict) else None
        if not isinstance(data, dict):
            return []
        refs = []
        for part, stream in (("card", "cards"), ("list", "lists"), ("board", "boards")):
            item = data.get(part)
            if isinstance(item, dict) and item.get("id"):
                refs.append(RecordRef(stream, str(item["id"])))
        return refs
