"""Event deliveries taken in by the engine: checked, once only, re-read, saved."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import servicesync_bitrix24.plugin
from b24_helpers import event_request, rest_requests
from servicesync.config import parse_config
from servicesync.contract import WebhookRequest
from servicesync.domain import Deal
from servicesync.engine import Engine
from servicesync.errors import WebhookRejected
from servicesync.plugins import load_plugins
from servicesync.store import OutboxEvent, Store, WebhookReceipt
from servicesync.store.testing import every_row
from servicesync_bitrix24.fake import FakePortal
from sqlmodel import func, select

TOKEN = "b24-app-token-5f0c9e2a7d41"

CONFIG = """
[connections.crm]
plugin = "bitrix24"
[connections.crm.settings]
portal_url = "{portal_url}"
webhook_url = "{webhook_url}"
application_token = "{token}"
[connections.crm.mapping.values.stage]
NEW = "acquaintance"
EXECUTING = "contract_signed"
"""


@dataclass
class Crm:
    """A portal with one deal, and an engine that has synced it once."""

    portal: FakePortal
    engine: Engine
    store: Store
    deal: int

    def title_in_store(self) -> str:
        with self.store.session() as session:
            return session.exec(select(Deal.title)).one()

    def count(self, model: type) -> int:
        with self.store.session() as session:
            return session.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
async def crm(store: Store) -> AsyncIterator[Crm]:
    portal = FakePortal(clock=store.clock, seed=11)
    text = CONFIG.format(
        portal_url=portal.base_url, webhook_url=portal.add_webhook(), token=TOKEN
    )
    plugins = load_plugins(modules=[("bitrix24", servicesync_bitrix24.plugin)])
    engine = Engine(
        parse_config(text), store, plugins, transports={"crm": portal.transport()}
    )
    deal = portal.data.add_deal({"TITLE": "Old title", "OPPORTUNITY": "100"})
    await engine.sync("crm")
    yield Crm(portal, engine, store, deal)
    await engine.aclose()


async def test_valid_event_rereads_the_deal_into_the_store(crm: Crm) -> None:
    request = event_request(
        crm.portal,
        TOKEN,
        lambda: crm.portal.data.update_deal(crm.deal, {"TITLE": "New"}),
    )
    before = rest_requests(crm.portal)

    answer = await crm.engine.handle_webhook("crm", request)

    assert answer.status == 200
    assert crm.title_in_store() == "New"
    assert rest_requests(crm.portal) - before == 1


async def test_forged_event_is_rejected_logged_and_changes_nothing(
    crm: Crm, caplog: pytest.LogCaptureFixture
) -> None:
    forged = "forged-token-93b1d07e"
    request = event_request(
        crm.portal,
        forged,
        lambda: crm.portal.data.update_deal(crm.deal, {"TITLE": "X"}),
    )
    before = every_row(crm.store.engine)
    requests_before = rest_requests(crm.portal)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(WebhookRejected) as caught:
        await crm.engine.handle_webhook("crm", request)

    assert caught.value.status == 401
    assert every_row(crm.store.engine) == before
    assert rest_requests(crm.portal) == requests_before
    rejected = [r for r in caplog.records if "Rejected" in r.getMessage()]
    assert len(rejected) == 1
    assert forged not in caplog.text and TOKEN not in caplog.text
    assert forged not in str(caught.value) and TOKEN not in str(caught.value)


async def test_same_event_posted_twice_has_one_effect(crm: Crm) -> None:
    def move() -> None:
        crm.portal.data.update_deal(crm.deal, {"STAGE_ID": "EXECUTING"})

    request = event_request(crm.portal, TOKEN, move)
    events_before = crm.count(OutboxEvent)

    first = await crm.engine.handle_webhook("crm", request)
    rows_after_first = _data_rows(crm.store)
    requests_after_first = rest_requests(crm.portal)
    second = await crm.engine.handle_webhook("crm", request)

    assert first.delivery_key == second.delivery_key
    assert crm.count(WebhookReceipt) == 1
    assert crm.count(OutboxEvent) - events_before == 1
    # Bitrix24's keys may repeat for distinct changes, so the second posting
    # reads the deal once more; what it reads is what is stored already.
    assert rest_requests(crm.portal) - requests_after_first == 1
    assert _data_rows(crm.store) == rows_after_first


async def test_two_changes_within_one_second_both_arrive(crm: Crm) -> None:
    """Bitrix24 stamps events to the second: the two share a delivery key."""
    url = "https://sync.example/hooks/crm/same-second"
    crm.portal.events.add_outgoing_webhook("ONCRMDEALUPDATE", url, TOKEN)
    answers = []
    for title in ("First", "Second"):
        crm.portal.data.update_deal(crm.deal, {"TITLE": title})
        subscription, _, payload = crm.portal.webhooks.pending.pop()
        body = subscription.scheme.prepare(payload, url, crm.portal.clock.now()).body
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        request = WebhookRequest("POST", url, headers, body)
        answers.append(await crm.engine.handle_webhook("crm", request))
        assert crm.title_in_store() == title

    first, second = answers
    assert first.delivery_key == second.delivery_key
    assert crm.title_in_store() == "Second"


def _data_rows(store: Store) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the store but the shared rate budget's, which calls spend."""
    rows = every_row(store.engine)
    del rows["rate_budgets"]
    return rows
