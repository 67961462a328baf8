"""Checking Jira's webhook deliveries and naming what they changed."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

from servicesync.contract import (
    RecordRef,
    WebhookHandler,
    WebhookRequest,
    WebhookResponse,
)
from servicesync.errors import WebhookRejected
from servicesync_sdk.signatures import (
    SignatureError,
    decode_jwt_hs256,
    verify_hmac_sha256_hex,
)

if TYPE_CHECKING:
    from servicesync_jira._connector import JiraConnector

__all__ = ["DELIVERY_HEADER", "JiraWebhookHandler"]

logger = logging.getLogger(__name__)

DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"
_JWT_LEEWAY = 60.0


class JiraWebhookHandler(WebhookHandler):
    """Verifies admin webhooks (``X-Hub-Signature``) and app webhooks (JWT).

    Both checks run on the raw body bytes and compare in constant time. A
    delivery is keyed by ``X-Atlassian-Webhook-Identifier``, which Jira
    repeats when it retries, and asks for the issue or project to be read
    again rather than trusting the payload.
    """

    def __init__(self, connector: JiraConnector) -> None:
        self.connector = connector

    async def handle(self, request: WebhookRequest) -> WebhookResponse:
        self._verify(request)
        try:
            payload = json.loads(request.body)
        except ValueError:
            raise WebhookRejected(
                "The Jira delivery's body is not JSON.", status=400, service="jira"
            ) from None
        key = (
            request.header(DELIVERY_HEADER) or hashlib.sha256(request.body).hexdigest()
        )
        return WebhookResponse(
            status=200, delivery_key=key, references=_references(payload)
        )

    def _verify(self, request: WebhookRequest) -> None:
        config = self.connector.config
        signature = request.header("X-Hub-Signature")
        if config.webhook_secret and signature is not None:
            if verify_hmac_sha256_hex(
                config.webhook_secret, request.body, signature, prefix="sha256="
            ):
                return
            raise WebhookRejected(
                "The Jira delivery's X-Hub-Signature does not match.", service="jira"
            )
        authorization = request.header("Authorization")
        if config.client_secret and authorization:
            token = authorization.split(" ", 1)[-1].strip()
            now = self.connector.context.clock.now().timestamp()
            try:
                decode_jwt_hs256(
                    config.client_secret, token, now=now, leeway=_JWT_LEEWAY
                )
            except SignatureError:
                raise WebhookRejected(
                    "The Jira delivery's JWT is not valid.", service="jira"
                ) from None
            return
        raise WebhookRejected(
            "The Jira delivery carries no signature this connection can check.",
            service="jira",
        )


def _references(payload: dict[str, Any]) -> list[RecordRef]:
    refs = []
    if isinstance(payload.get("issue"), dict) and payload["issue"].get("id"):
        refs.append(RecordRef("issues", str(payload["issue"]["id"])))
    if isinstance(payload.get("project"), dict) and payload["project"].get("id"):
        refs.append(RecordRef("projects", str(payload["project"]["id"])))
    return refs
