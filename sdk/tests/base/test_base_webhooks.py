"""Webhook proofs, handshakes and delivery keys of the base handler."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from servicesync.contract import RecordRef, WebhookRequest
from servicesync.errors import WebhookRejected
from servicesync_sdk import (
    EchoSecretHandshake,
    HmacSignature,
    SharedToken,
    SignedWebhookHandler,
    ValidationCodeHandshake,
)
from servicesync_sdk.fakes import (
    ApplicationToken,
    HookSignature,
    HubSignature,
    TrelloSignature,
)

NOW = datetime(2026, 1, 5, tzinfo=UTC)
SECRET = "hook-secret-0123456789"
URL = "https://sync.example/hooks/trello"


class Handler(SignedWebhookHandler):
    service = "demo"
    delivery_field = "delivery"

    def references(self, payload: Any) -> Sequence[RecordRef]:
        return [RecordRef("items", str(payload.get("id", "")))]


def request_of(headers: dict[str, str], body: bytes) -> WebhookRequest:
    return WebhookRequest("POST", URL, headers, body)


def signed(scheme: Any, payload: dict[str, Any]) -> WebhookRequest:
    made = scheme.prepare(payload, URL, NOW)
    return request_of(made.headers, made.body)


SCHEMES = [
    pytest.param(
        HubSignature(SECRET),
        HmacSignature(SECRET, header="X-Hub-Signature", prefix="sha256="),
        id="hub-sha256-hex",
    ),
    pytest.param(
        HookSignature(SECRET),
        HmacSignature(SECRET, header="X-Hook-Signature"),
        id="asana-sha256-hex",
    ),
    pytest.param(
        TrelloSignature(SECRET),
        HmacSignature(
            SECRET,
            header="X-Trello-Webhook",
            algorithm="sha1",
            encoding="base64",
            callback_url=URL,
        ),
        id="trello-sha1-base64",
    ),
    pytest.param(
        ApplicationToken(SECRET),
        SharedToken(SECRET, form_field="auth[application_token]"),
        id="bitrix24-token",
    ),
]


@pytest.mark.parametrize(("sender", "scheme"), SCHEMES)
async def test_handler_accepts_valid_signature(sender: Any, scheme: Any) -> None:
    request = signed(sender, {"id": 5, "delivery": "d-1"})

    response = await Handler(scheme).handle(request)

    assert response.status == 200
    assert response.delivery_key == "d-1" or response.delivery_key


@pytest.mark.parametrize(("sender", "scheme"), SCHEMES[:3])
async def test_handler_rejects_changed_body(sender: Any, scheme: Any) -> None:
    request = signed(sender, {"id": 5})
    forged = request_of(dict(request.headers), request.body.replace(b"5", b"6"))

    with pytest.raises(WebhookRejected) as rejected:
        await Handler(scheme).handle(forged)

    assert rejected.value.status == 401


async def test_handler_rejects_wrong_shared_token() -> None:
    request = signed(ApplicationToken("another-token-999"), {"id": 5})
    scheme = SharedToken(SECRET, form_field="auth[application_token]")

    with pytest.raises(WebhookRejected):
        await Handler(scheme).handle(request)


async def test_handler_rejects_missing_header_without_leaking_secret() -> None:
    scheme = HmacSignature(SECRET, header="X-Hub-Signature")

    with pytest.raises(WebhookRejected) as rejected:
        await Handler(scheme).handle(request_of({}, b"{}"))

    assert SECRET not in str(rejected.value)


async def test_echo_handshake_returns_and_stores_secret() -> None:
    kept: list[str] = []
    scheme = HmacSignature(
        lambda: kept[-1] if kept else None, header="X-Hook-Signature"
    )
    handler = Handler(scheme, [EchoSecretHandshake(kept.append)])

    answer = await handler.handle(request_of({"X-Hook-Secret": SECRET}, b""))
    delivery = await handler.handle(signed(HookSignature(SECRET), {"id": 1}))

    assert answer.headers == {"X-Hook-Secret": SECRET}
    assert kept == [SECRET]
    assert delivery.references == (RecordRef("items", "1"),)


async def test_validation_handshake_echoes_code() -> None:
    handler = Handler(
        SharedToken(SECRET, header="X-Token"),
        [ValidationCodeHandshake(query="validationToken")],
    )
    request = WebhookRequest("POST", URL, {}, b"", {"validationToken": "abc123"})

    answer = await handler.handle(request)

    assert answer.body == b"abc123"


async def test_delivery_key_same_for_replay_without_delivery_id() -> None:
    handler = Handler(HmacSignature(SECRET, header="X-Hook-Signature"))
    request = signed(HookSignature(SECRET), {"id": 3})

    first = await handler.handle(request)
    second = await handler.handle(request)

    assert first.delivery_key == second.delivery_key
