"""Trello's webhooks: the HEAD check, signatures over body and URL, replays."""

from __future__ import annotations

import dataclasses
import json

import httpx
import pytest
from servicesync.contract import RecordRef, WebhookRequest
from servicesync.errors import RecordError, WebhookRejected
from servicesync.store import Store
from servicesync_trello import SIGNATURE_HEADER, TrelloConnector
from servicesync_trello.fake import TrelloFake
from trello_helpers import CALLBACK, ConnectorFactory, bot_id


def receive_with(connector: TrelloConnector, seen: list[WebhookRequest]) -> object:
    """Return a receiver that hands each request to the connector's handler."""

    async def receive(request: httpx.Request) -> httpx.Response:
        incoming = WebhookRequest(
            request.method, str(request.url), dict(request.headers), request.content
        )
        seen.append(incoming)
        handler = connector.webhook_handler()
        assert handler is not None
        try:
            answer = await handler.handle(incoming)
        except WebhookRejected as exc:
            return httpx.Response(exc.status)
        return httpx.Response(answer.status)

    return receive


async def watched_board(
    fake: TrelloFake, connector: TrelloConnector, seen: list[WebhookRequest]
) -> tuple[str, str]:
    """Register a webhook on a fresh board; return the board and a card."""
    fake.add_receiver(CALLBACK, handler=receive_with(connector, seen))  # type: ignore[arg-type]
    board = fake.state.create_board(bot_id(fake), {"name": "Watched"})
    await connector.register_webhook(board["id"])
    lst = fake.state.lists_of(board["id"], "open")[0]
    card = fake.state.create_card(bot_id(fake), {"name": "Ship", "idList": lst["id"]})
    return board["id"], card["id"]


async def delivery(
    fake: TrelloFake, connector: TrelloConnector, seen: list[WebhookRequest]
) -> WebhookRequest:
    """Make a change on a watched board and return the delivery it caused."""
    _board, card = await watched_board(fake, connector, seen)
    fake.state.update_card(bot_id(fake), card, {"dueComplete": True})
    await fake.webhooks.flush()
    return seen[-1]


async def test_webhook_registration_answers_trellos_head_check(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    seen: list[WebhookRequest] = []

    await watched_board(fake, connector, seen)

    assert [r.method for r in seen] == ["HEAD"]
    assert connector.context.state.get("webhook:callback_url") == CALLBACK
    (hook,) = fake.hooks.values()
    assert hook["callbackURL"] == CALLBACK


async def test_webhook_registration_refused_when_callback_fails_the_check(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    fake.add_receiver(CALLBACK, handler=lambda request: httpx.Response(404))
    board = fake.state.create_board(bot_id(fake), {"name": "Watched"})

    with pytest.raises(RecordError, match="did not return 200"):
        await connector.register_webhook(board["id"])

    assert fake.hooks == {}


async def test_webhook_delivery_verified_and_names_the_card(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    seen: list[WebhookRequest] = []
    request = await delivery(fake, connector, seen)

    answer = await connector.webhook_handler().handle(request)  # type: ignore[union-attr]

    action = json.loads(request.body)["action"]
    assert fake.webhooks.deliveries[-1].status == 200
    assert RecordRef("cards", action["data"]["card"]["id"]) in answer.references
    assert answer.delivery_key == f"trello-action:{action['id']}"


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda r: dataclasses.replace(r, body=r.body + b" "), id="body"),
        pytest.param(
            lambda r: dataclasses.replace(
                r, headers={**r.headers, SIGNATURE_HEADER.lower(): "AAAA"}
            ),
            id="signature",
        ),
    ],
)
async def test_webhook_wrong_signature_rejected_and_changes_nothing(
    fake: TrelloFake, connector: TrelloConnector, store: Store, forge: object
) -> None:
    seen: list[WebhookRequest] = []
    genuine = await delivery(fake, connector, seen)
    handler = connector.webhook_handler()
    assert handler is not None

    with pytest.raises(WebhookRejected) as rejected:
        answer = await handler.handle(forge(genuine))  # type: ignore[operator]
        store.record_receipt("delivery", str(answer.delivery_key))

    assert rejected.value.status == 401
    # The genuine delivery is still new: the forgery took nothing in.
    key = f"trello-action:{json.loads(genuine.body)['action']['id']}"
    assert store.record_receipt("delivery", key) is True


async def test_webhook_signed_for_another_callback_url_rejected(
    fake: TrelloFake, connector: TrelloConnector, make: ConnectorFactory
) -> None:
    seen: list[WebhookRequest] = []
    request = await delivery(fake, connector, seen)
    elsewhere = make(callback_url="https://hooks.example.test/other")
    elsewhere.context.state.put("webhook:callback_url", "https://elsewhere.test/")

    with pytest.raises(WebhookRejected):
        await elsewhere.webhook_handler().handle(request)  # type: ignore[union-attr]


async def test_webhook_replay_has_no_second_effect(
    fake: TrelloFake, connector: TrelloConnector, store: Store
) -> None:
    seen: list[WebhookRequest] = []
    request = await delivery(fake, connector, seen)
    handler = connector.webhook_handler()
    assert handler is not None

    first = await handler.handle(request)
    again = await handler.handle(request)

    assert again.delivery_key == first.delivery_key
    assert store.record_receipt("delivery", str(first.delivery_key)) is True
    assert store.record_receipt("delivery", str(again.delivery_key)) is False


async def test_webhook_without_app_secret_rejects_everything(
    fake: TrelloFake, connector: TrelloConnector, make: ConnectorFactory
) -> None:
    seen: list[WebhookRequest] = []
    request = await delivery(fake, connector, seen)

    with pytest.raises(WebhookRejected):
        await make(app_secret=None).webhook_handler().handle(request)  # type: ignore[union-attr]
