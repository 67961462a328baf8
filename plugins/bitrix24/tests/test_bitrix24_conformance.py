"""The Bitrix24 connector passes the SDK's conformance suite against its fake.

What the suite needs to know of Bitrix24 beyond the defaults:

* a page of the ``deals`` stream is one ``batch`` request of 50 chained
  fast-listing pages, 2,500 deals, and every read is a ``POST`` to ``batch``;
* the portal's leaky bucket (2 a second, 50 at once) refuses with
  ``503 QUERY_LIMIT_EXCEEDED``, not 429; the fake would have to hold 275,000
  deals for one read to outrun it, so the limit is met by reading a small
  portal again and again with one connector;
* events carry a shared ``auth[application_token]`` rather than a
  signature over the body, so a forged delivery is a genuine one whose token
  was replaced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx
from pydantic import BaseModel
from servicesync import Clock
from servicesync.contract import Connector, ConnectorContext, WebhookRequest
from servicesync_bitrix24 import Bitrix24Config, Bitrix24Connector
from servicesync_bitrix24._actions import InvoiceParams
from servicesync_bitrix24._client import BATCH, PAGE
from servicesync_bitrix24.fake import FakePortal, factory
from servicesync_sdk.fakes import FakeService, FaultRule
from servicesync_sdk.testing import (
    ConformanceHarness,
    ConnectorConformance,
    PublishedLimit,
)

HOOK_URL = "https://sync.example/hooks/bitrix24"
APPLICATION_TOKEN = "conformance-application-token-5f1c9e"
INVOICE_ENTITY = 31


def portal_of(fake: FakeService) -> FakePortal:
    """Narrow the suite's fake to the portal this harness built."""
    assert isinstance(fake, FakePortal)
    return fake


def accept(request: httpx.Request) -> httpx.Response:
    """Stand in for servicesync's webhook endpoint: take every delivery."""
    return httpx.Response(200)


class Bitrix24Harness(ConformanceHarness):
    """How the suite drives the Bitrix24 connector and its fake portal."""

    stream = "deals"
    page_size = PAGE * BATCH
    action = "create_invoice"
    limit = PublishedLimit(rate=2.0, burst=50, refusal_status=503)
    limit_workload = "repeated_reads"
    read_method = "POST"
    read_path = "/rest/*/batch"

    def make_fake(self, clock: Clock, seed: int) -> FakePortal:
        portal = factory(clock=clock, seed=seed)
        portal.events.receive_in_process(HOOK_URL, accept)
        portal.events.add_outgoing_webhook(
            "ONCRMDEALUPDATE", HOOK_URL, APPLICATION_TOKEN
        )
        return portal

    def make_connector(
        self, fake: FakeService, context: ConnectorContext
    ) -> Connector[Any]:
        config = Bitrix24Config(
            portal_url=fake.base_url,
            webhook_url=fake.credentials()["webhook_url"],
            application_token=APPLICATION_TOKEN,
        )
        return Bitrix24Connector(config, context)

    async def insert(self, fake: FakeService, count: int) -> list[str]:
        data = portal_of(fake).data
        return [
            str(data.add_deal({"TITLE": f"Deal {n}", "OPPORTUNITY": n}))
            for n in range(count)
        ]

    async def update(self, fake: FakeService, external_id: str) -> None:
        data = portal_of(fake).data
        title = data.deals[int(external_id)]["TITLE"]
        data.update_deal(int(external_id), {"TITLE": f"{title} (changed)"})

    def snapshot(self, fake: FakeService) -> Mapping[str, Mapping[str, Any]]:
        # The stream selects every standard and custom field, which is every
        # field the portal keeps for a deal.
        deals = portal_of(fake).data.deals
        return {str(deal_id): dict(row) for deal_id, row in deals.items()}

    def action_params(self, fake: FakeService) -> BaseModel:
        deal_id = portal_of(fake).data.add_deal({"TITLE": "Won deal"})
        return InvoiceParams(
            deal_id=str(deal_id), title="First stage", amount=Decimal("1500.00")
        )

    def count_objects(self, fake: FakeService, params: BaseModel) -> int:
        assert isinstance(params, InvoiceParams)
        invoices = portal_of(fake).data.items.get(INVOICE_ENTITY, {}).values()
        return sum(
            1
            for item in invoices
            if str(item.get("parentId2")) == params.deal_id
            and item.get("title") == params.title
        )

    def lose_create_answer(self, fake: FakeService) -> FaultRule:
        return fake.faults.answer_lost(method="POST", path="/rest/*/crm.item.add")

    async def valid_webhook(
        self, fake: FakeService, connector: Connector[Any]
    ) -> WebhookRequest:
        portal = portal_of(fake)
        deal_id = portal.data.add_deal({"TITLE": "Announced"})
        portal.data.update_deal(deal_id, {"TITLE": "Announced again"})
        delivery = (await portal.webhooks.flush())[-1]
        return WebhookRequest(
            "POST", delivery.subscription.url, dict(delivery.headers), delivery.body
        )

    async def forged_webhook(
        self, fake: FakeService, connector: Connector[Any]
    ) -> WebhookRequest:
        # The token is the whole proof: a sender who does not know it sends
        # a well-formed delivery with some other token of the same shape.
        valid = await self.valid_webhook(fake, connector)
        wrong = "0" * len(APPLICATION_TOKEN)
        body = valid.body.replace(APPLICATION_TOKEN.encode(), wrong.encode())
        assert body != valid.body, "the delivery carries the application token"
        return WebhookRequest(valid.method, valid.url, dict(valid.headers), body)

    def secrets(self, fake: FakeService) -> Sequence[str]:
        return [*fake.secrets(), APPLICATION_TOKEN]


class TestBitrix24Conformance(ConnectorConformance):
    harness = Bitrix24Harness()
