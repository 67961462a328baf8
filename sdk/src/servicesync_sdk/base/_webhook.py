"""A webhook handler that checks the proof first and reads the delivery second."""

from __future__ import annotations

import hashlib
import json
import logging
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from servicesync.contract import (
    RecordRef,
    WebhookHandler,
    WebhookRequest,
    WebhookResponse,
)
from servicesync.errors import MalformedResponse

from servicesync_sdk.base._schemes import Handshake, SignatureScheme

__all__ = ["SignedWebhookHandler"]

logger = logging.getLogger(__name__)


class SignedWebhookHandler(WebhookHandler):
    """Handshakes, then the signature check, then the delivery's meaning.

    A subclass passes its :class:`SignatureScheme` (and any handshakes) to
    the constructor and implements :meth:`references`: which records the
    delivery asks to re-read. Nothing of the body is parsed before the
    signature is checked; a forged delivery raises
    :class:`~servicesync.errors.WebhookRejected` with status 401.

    The delivery key identifies a delivery so a replay is recognised: the
    header named by :attr:`delivery_header` when the service sends one, else
    the JSON field :attr:`delivery_field`, else a hash of the raw body.

    Attributes:
        service: the service's name, put on errors.
        delivery_header: the header carrying the service's delivery id.
        delivery_field: the top-level body field carrying it.
    """

    service: ClassVar[str] = ""
    delivery_header: ClassVar[str | None] = None
    delivery_field: ClassVar[str | None] = None

    def __init__(
        self, scheme: SignatureScheme, handshakes: Sequence[Handshake] = ()
    ) -> None:
        self.scheme = scheme
        self.handshakes = list(handshakes)

    @abstractmethod
    def references(self, payload: Any) -> Sequence[RecordRef]:
        """Return the records a verified delivery asks to re-read."""

    async def handle(self, request: WebhookRequest) -> WebhookResponse:
        """Answer a handshake, or verify the delivery and say what it means."""
        for handshake in self.handshakes:
            answer = handshake.answer(request)
            if answer is not None:
                return answer
        self.scheme.verify(request, service=self.service)
        payload = self.parse(request)
        return WebhookResponse(
            status=200,
            delivery_key=self.delivery_key(request, payload),
            references=tuple(self.references(payload)),
        )

    def parse(self, request: WebhookRequest) -> Any:
        """Return the verified body: JSON, or form fields as a flat dict."""
        content_type = (request.header("content-type") or "").lower()
        text = request.body.decode("utf-8", errors="replace")
        if "application/x-www-form-urlencoded" in content_type:
            return dict(parse_qsl(text, keep_blank_values=True))
        try:
            return json.loads(text) if text else {}
        except ValueError as exc:
            who = self.service or "The service"
            msg = f"{who} sent a webhook delivery whose body is not JSON."
            raise MalformedResponse(msg, service=self.service) from exc

    def delivery_key(self, request: WebhookRequest, payload: Any) -> str:
        """Return the key that identifies this delivery, alike for a replay."""
        if self.delivery_header is not None:
            value = request.header(self.delivery_header)
            if value:
                return value
        if self.delivery_field is not None and isinstance(payload, Mapping):
            value = payload.get(self.delivery_field)
            if value is not None:
                return str(value)
        return hashlib.sha256(request.body).hexdigest()
