"""The connector's limits handling, events, OAuth and actions."""

from __future__ import annotations

import pytest
from b24_helpers import MemoryVault, read_all, stream
from servicesync import VirtualClock
from servicesync.contract import WebhookRequest
from servicesync.errors import WebhookRejected
from servicesync_bitrix24.fake import FakePortal, PortalPlan


def _request(body: bytes) -> WebhookRequest:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return WebhookRequest("POST", "https://sync.example/hooks/b24", headers, body)


async def _delivery(portal: FakePortal, token: str) -> bytes:
    portal.events.add_outgoing_webhook(
        "ONCRMDEALUPDATE", "https://sync.example/h", token
    )
    portal.data.add_deal({"TITLE": "x"})
    portal.data.update_deal(1, {"TITLE": "y"})
    sub, _, payload = portal.webhooks.pending[-1]
    return sub.scheme.prepare(payload, sub.url, portal.clock.now()).body


async def test_webhook_valid_event_names_the_deal(portal, make_connector) -> None:
    connector = make_connector(application_token="secret-token")
    body = await _delivery(portal, "secret-token")

    answer = await connector.webhook_handler().handle(_request(body))

    assert [(r.stream, r.external_id) for r in answer.references] == [("deals", "1")]
    await connector.aclose()


async def test_webhook_forged_event_is_rejected(portal, make_connector) -> None:
    connector = make_connector(application_token="secret-token")
    body = await _delivery(portal, "forged-token")

    with pytest.raises(WebhookRejected):
        await connector.webhook_handler().handle(_request(body))
    await connector.aclose()


async def test_webhook_same_event_twice_has_one_delivery_key(
    portal, make_connector
) -> None:
    connector = make_connector(application_token="secret-token")
    body = await _delivery(portal, "secret-token")
    handler = connector.webhook_handler()

    first = await handler.handle(_request(body))
    second = await handler.handle(_request(body))

    assert first.delivery_key == second.delivery_key is not None
    await connector.aclose()


async def test_oauth_refresh_stores_refresh_token_before_use(
    portal, make_connector, clock
) -> None:
    portal.oauth.add_app("app.1", "client-secret")
    tokens = portal.oauth.issue("app.1")
    connector = make_connector(
        client_id="app.1",
        client_secret="client-secret",
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        oauth_server_url="https://oauth.example/oauth/token/",
    )
    vault: MemoryVault = connector.context.credentials  # type: ignore[assignment]
    clock.advance(4000)

    await connector.check()

    assert portal.oauth.refreshes == 1
    assert vault.writes[:2] == ["refresh_token", "access_token"]
    assert vault.values["refresh_token"] not in (tokens["refresh_token"], None)
    await connector.aclose()


async def test_oauth_expired_token_is_refused_by_portal(portal, clock) -> None:
    portal.oauth.add_app("app.1", "s")
    tokens = portal.oauth.issue("app.1")
    clock.advance(3601)

    async with portal.client() as http:
        response = await http.post(
            "/rest/crm.deal.list", json={"auth": tokens["access_token"]}
        )

    assert response.status_code == 401 and response.json()["error"] == "expired_token"


async def test_client_waits_out_503_without_losing_the_call(portal, connector) -> None:
    portal.seed(deals=[{"TITLE": "x"}])
    for _ in range(50):
        portal.bucket.acquire("127.0.0.1")

    answer = await connector.client.call("crm.deal.get", {"id": 1})

    assert answer["result"]["ID"] == "1"


async def test_fast_list_waits_out_operating_limit_inside_batch(
    clock: VirtualClock, portal: FakePortal, make_connector
) -> None:
    portal.plan = PortalPlan(operating_limit=0.3)
    portal.seed(deals=[{"TITLE": f"d{i}"} for i in range(3000)])
    connector = make_connector()

    pages = await read_all(stream(connector, "deals"))

    ids = [r.external_id for p in pages for r in p.records]
    assert len(ids) == len(set(ids)) == 3000
    assert portal.refusals["crm.deal.list"] > 0
    await connector.aclose()


async def test_client_waits_out_429_for_the_blocked_method(
    portal: FakePortal, make_connector
) -> None:
    portal.plan = PortalPlan(operating_limit=0.02)
    portal.seed(deals=[{"TITLE": "x"}])
    connector = make_connector()

    for _ in range(5):
        await connector.client.call("crm.deal.list", {"start": 0})

    assert portal.refusals["crm.deal.list"] > 0
    await connector.aclose()


async def test_actions_find_what_an_earlier_attempt_did(portal, connector) -> None:
    portal.seed(deals=[{"TITLE": "x"}])
    actions = connector.actions()
    comment = actions["add_deal_comment"].params_model(deal_id="1", text="Kick-off")
    invoice = actions["create_invoice"].params_model(
        deal_id="1", title="Inv", amount="10.50"
    )
    stage = actions["move_deal_stage"].params_model(deal_id="1", stage_id="EXECUTING")

    assert await actions["add_deal_comment"].find("k1", comment) is None
    made = await actions["add_deal_comment"].execute("k1", comment)
    assert (
        await actions["add_deal_comment"].find("k1", comment)
    ).external_id == made.external_id
    created = await actions["create_invoice"].execute("k2", invoice)
    assert (
        await actions["create_invoice"].find("k2", invoice)
    ).external_id == created.external_id
    assert await connector.invoice_paid(created.external_id) is False
    await actions["move_deal_stage"].execute("k3", stage)
    assert await actions["move_deal_stage"].find("k3", stage) is not None
