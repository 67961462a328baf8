"""Event deliveries from the portal: outgoing webhooks and ``event.bind``.

A delivery is a form-encoded POST naming the event and the object's id
(``data[FIELDS][ID]``). The portal signs nothing; it carries the
``auth[application_token]`` of the app or outgoing webhook, compared here in
constant time with the configured one. The delivery only names the object,
so the answer asks the engine to re-read it.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from servicesync.contract import (
    RecordRef,
    WebhookHandler,
    WebhookRequest,
    WebhookResponse,
)
from servicesync.errors import WebhookRejected

from servicesync_bitrix24._php import parse_query

__all__ = ["Bitrix24WebhookHandler", "event_stream"]

_STREAM_BY_PREFIX = (
    ("ONCRMDEAL", "deals"),
    ("ONCRMCOMPANY", "companies"),
    ("ONCRMCONTACT", "contacts"),
    ("ONTASK", "tasks"),
)


def event_stream(event: str) -> str | None:
    """Name the stream whose records ``event`` is about, such as ``deals``."""
    event = event.upper()
    return next((s for p, s in _STREAM_BY_PREFIX if event.startswith(p)), None)


class Bitrix24WebhookHandler(WebhookHandler):
    """Checks a delivery's application token and names the record to re-read."""

    def __init__(self, application_token: str | None) -> None:
        self._token = application_token

    async def handle(self, request: WebhookRequest) -> WebhookResponse:
        """Verify the token, then answer with a delivery key and a reference.

        Raises:
            WebhookRejected: no token is configured, or the delivery's differs.
        """
        form = parse_query(request.body.decode("utf-8", errors="replace"))
        auth = _mapping(form.get("auth"))
        given = str(auth.get("application_token", ""))
        if not self._token or not hmac.compare_digest(
            given.encode(), self._token.encode()
        ):
            raise WebhookRejected(
                "The Bitrix24 delivery carries a wrong or missing application token.",
                status=401,
                service="bitrix24",
            )
        event = str(form.get("event", "")).upper()
        data = _mapping(form.get("data"))
        fields = _mapping(data.get("FIELDS"))
        object_id = str(fields.get("ID", ""))
        handler = str(form.get("event_handler_id", ""))
        raw_key = f"{handler}:{event}:{object_id}:{form.get('ts', '')}"
        key = hashlib.sha256(raw_key.encode()).hexdigest()
        stream = event_stream(event)
        refs = [RecordRef(stream, object_id)] if stream and object_id else []
        # Bitrix24 stamps events to the second and names no event id: two
        # changes of one deal within a second carry the same key.
        return WebhookResponse(
            status=200, delivery_key=key, references=refs, key_may_repeat=True
        )


def _mapping(value: Any) -> dict[str, Any]:
    """Return ``value`` if the form decoded it to a mapping, else an empty one."""
    return value if isinstance(value, dict) else {}
