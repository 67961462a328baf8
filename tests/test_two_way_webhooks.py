"""Progress made in Asana or Trello reaches the deal through a signed webhook.

Each test runs once per tool, with two-way consistency on (see
:mod:`two_way_world`). The connection registers its webhooks as
``servicesync webhooks register`` does, the engine answering the tool's
handshake (Asana's ``X-Hook-Secret``, Trello's ``HEAD``); a task is then
finished in the tool, and the delivery its fake signs for that change is
handed to the engine as the daemon's webhook route hands it. One sync of the
CRM later the deal shows the task done: that sync reads nothing from the
tool, so only the webhook's re-read can have brought the change (a sync of
every connection reads it from either fake at once). The same delivery with
its signature altered is refused and changes nothing. Jira's signed webhooks
are tested in ``test_two_way_jira.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from servicesync.contract import WebhookRequest
from servicesync.errors import WebhookRejected
from servicesync.store import Store
from servicesync.store.testing import every_row
from servicesync_asana import HOOK_SECRET, HOOK_SIGNATURE
from servicesync_asana.fake import AsanaFake
from servicesync_trello import SIGNATURE_HEADER
from servicesync_trello.fake import TrelloFake
from two_way_world import AsanaTwoWay, TrelloTwoWay, TwoWayWorld, two_way_world

HOOK_URL = "https://sync.example.test/webhooks/delivery"
PROGRESS = "UF_CRM_DELIVERY_PROGRESS"


@pytest.fixture(params=("asana", "trello"))
async def pair(
    request: pytest.FixtureRequest, store: Store
) -> AsyncIterator[TwoWayWorld]:
    made = await two_way_world(request.param, store)
    yield made
    await made.aclose()


class Inbox:
    """The daemon's webhook route as the fake reaches it.

    Handshakes go to the engine at once; each delivery is held, as sent.
    """

    def __init__(self, pair: TwoWayWorld) -> None:
        self.pair = pair
        self.held: list[WebhookRequest] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        incoming = WebhookRequest(
            request.method, str(request.url), dict(request.headers), request.content
        )
        if request.method != "HEAD" and HOOK_SECRET not in request.headers:
            self.held.append(incoming)
            return httpx.Response(200)
        answer = await self.pair.engine.handle_webhook("delivery", incoming)
        return httpx.Response(
            answer.status, headers=dict(answer.headers), content=answer.body
        )


def fake_of(pair: TwoWayWorld) -> AsanaFake | TrelloFake:
    if isinstance(pair, AsanaTwoWay):
        return pair.world.asana
    assert isinstance(pair, TrelloTwoWay)
    return pair.world.trello


async def won_and_watched(pair: TwoWayWorld) -> tuple[str, Inbox]:
    """Win a deal until its project is read back, then register the webhooks."""
    deal = await pair.won_and_settled()
    inbox = Inbox(pair)
    fake = fake_of(pair)
    if isinstance(fake, AsanaFake):
        fake.hook_receiver = inbox
    else:
        fake.add_receiver(HOOK_URL, handler=inbox)
    registrar = pair.engine.connector("delivery").webhook_registrar()
    assert registrar is not None
    assert await registrar.register(HOOK_URL, None)
    return deal, inbox


async def delivery_of_a_finished_task(
    pair: TwoWayWorld, inbox: Inbox
) -> WebhookRequest:
    """Finish a task in the tool; return the signed delivery the fake sent."""
    await pair.finish_a_task()
    await fake_of(pair).webhooks.flush()
    [delivery] = inbox.held
    return delivery


def forged(pair: TwoWayWorld, delivery: WebhookRequest) -> WebhookRequest:
    """Return ``delivery`` with the first character of its signature changed."""
    header = HOOK_SIGNATURE if isinstance(pair, AsanaTwoWay) else SIGNATURE_HEADER
    signature = delivery.header(header)
    assert signature
    headers = {k: v for k, v in delivery.headers.items() if k.lower() != header.lower()}
    headers[header] = ("1" if signature[0] != "1" else "2") + signature[1:]
    return dataclasses.replace(delivery, headers=headers)


async def test_two_way_progress_through_a_signed_webhook_within_one_sync(
    pair: TwoWayWorld,
) -> None:
    deal, inbox = await won_and_watched(pair)
    delivery = await delivery_of_a_finished_task(pair, inbox)

    answer = await pair.engine.handle_webhook("delivery", delivery)
    await pair.engine.sync("crm")

    assert answer.status == 200
    fields = await pair.deal(deal)
    assert fields[PROGRESS] == f"1/{pair.task_count()}"


async def test_two_way_forged_webhook_rejected_and_nothing_changed(
    pair: TwoWayWorld,
) -> None:
    deal, inbox = await won_and_watched(pair)
    delivery = await delivery_of_a_finished_task(pair, inbox)
    rows = every_row(pair.store.engine)

    with pytest.raises(WebhookRejected):
        await pair.engine.handle_webhook("delivery", forged(pair, delivery))
    unchanged = every_row(pair.store.engine) == rows
    await pair.engine.sync("crm")

    assert unchanged
    fields = await pair.deal(deal)
    assert fields[PROGRESS] == f"0/{pair.task_count()}"
