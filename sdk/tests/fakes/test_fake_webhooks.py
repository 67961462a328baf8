"""Signed webhook delivery from a fake into an in-process receiver."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
from notes_fake import NotesFake
from servicesync import VirtualClock
from servicesync_sdk.fakes import (
    ApplicationToken,
    HookSignature,
    HubSignature,
    JwtAuthorization,
    TrelloSignature,
    WebhookSender,
    form_encode,
)
from servicesync_sdk.signatures import (
    decode_jwt_hs256,
    verify_hmac_sha1_b64,
    verify_hmac_sha256_hex,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

URL = "https://receiver.invalid/hook"
JWT_KEY = "client-secret-of-at-least-32-bytes"
PAYLOAD = {"event": "note.created", "note": {"id": 1, "title": "hello"}}


class Inbox:
    """An ASGI receiver that keeps what it was sent."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.app = Starlette(routes=[Route("/hook", self.receive, methods=["POST"])])

    async def receive(self, request: Request) -> Response:
        self.requests.append((dict(request.headers), await request.body()))
        return Response(status_code=204)


async def _send(scheme: object, inbox: Inbox, clock: VirtualClock) -> None:
    sender = WebhookSender(clock)
    sender.subscribe(URL, scheme, app=inbox.app)  # type: ignore[arg-type]
    sender.emit("note.created", PAYLOAD)
    await sender.flush()


async def test_webhook_hub_signature_verifies(clock: VirtualClock) -> None:
    inbox = Inbox()

    await _send(HubSignature("hub-secret"), inbox, clock)

    headers, body = inbox.requests[0]
    signature = headers["x-hub-signature"]
    assert verify_hmac_sha256_hex("hub-secret", body, signature, prefix="sha256=")
    assert not verify_hmac_sha256_hex(
        "hub-secret", body + b"x", signature, prefix="sha256="
    )


async def test_webhook_asana_signature_verifies(clock: VirtualClock) -> None:
    inbox = Inbox()

    await _send(HookSignature("asana-secret"), inbox, clock)

    headers, body = inbox.requests[0]
    assert verify_hmac_sha256_hex("asana-secret", body, headers["x-hook-signature"])
    assert not verify_hmac_sha256_hex("wrong", body, headers["x-hook-signature"])


async def test_webhook_trello_signature_covers_the_callback_url(
    clock: VirtualClock,
) -> None:
    inbox = Inbox()

    await _send(TrelloSignature("app-secret"), inbox, clock)

    headers, body = inbox.requests[0]
    signature = headers["x-trello-webhook"]
    assert verify_hmac_sha1_b64("app-secret", body + URL.encode(), signature)
    assert not verify_hmac_sha1_b64("app-secret", body, signature)


async def test_webhook_application_token_in_form(clock: VirtualClock) -> None:
    inbox = Inbox()

    await _send(ApplicationToken("app-token-123"), inbox, clock)

    headers, body = inbox.requests[0]
    form = parse_qs(body.decode())
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert form["auth[application_token]"] == ["app-token-123"]
    assert form["note[title]"] == ["hello"]


async def test_webhook_jwt_is_signed_on_the_fake_clock(clock: VirtualClock) -> None:
    inbox = Inbox()

    await _send(JwtAuthorization(JWT_KEY, lifetime=60), inbox, clock)

    token = inbox.requests[0][0]["authorization"].removeprefix("Bearer ")
    claims = decode_jwt_hs256(JWT_KEY, token, now=clock.now().timestamp())
    assert claims["exp"] - claims["iat"] == 60


async def test_webhook_emitted_by_create_endpoint_is_delivered_on_flush(
    notes: NotesFake, client: httpx.AsyncClient
) -> None:
    inbox = Inbox()
    notes.webhooks.subscribe(
        URL, HubSignature(notes.webhook_secret), events=["note.created"], app=inbox.app
    )

    await client.post("/notes", json={"title": "ping"})
    queued = len(inbox.requests)
    deliveries = await notes.webhooks.flush()

    assert queued == 0
    assert [d.status for d in deliveries] == [204]
    assert b'"title":"ping"' in inbox.requests[0][1]


async def test_webhook_filtered_event_is_not_sent(clock: VirtualClock) -> None:
    sender = WebhookSender(clock)
    sender.subscribe(URL, HubSignature("s"), events=["note.deleted"], app=Inbox().app)

    assert sender.emit("note.created", PAYLOAD) == 0


async def test_webhook_failed_post_is_recorded(clock: VirtualClock) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    sender = WebhookSender(clock)
    sender.subscribe(URL, HubSignature("s"), handler=refuse)
    sender.emit("note.created", PAYLOAD)

    [delivery] = await sender.flush()

    assert delivery.status is None
    assert delivery.error is not None and "ConnectError" in delivery.error


def test_form_encode_nests_lists_and_mappings() -> None:
    encoded = form_encode({"data": {"FIELDS": {"ID": 7}}, "ids": [1, 2]})

    assert parse_qs(encoded) == {
        "data[FIELDS][ID]": ["7"],
        "ids[0]": ["1"],
        "ids[1]": ["2"],
    }
