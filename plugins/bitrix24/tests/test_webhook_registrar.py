"""Registering the portal's event handlers: ``event.bind`` for apps, steps by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import servicesync_bitrix24.plugin
from servicesync.config import parse_config
from servicesync.contract import Connector, RegisteredWebhook, WebhookRegistrar
from servicesync.daemon import DaemonMetrics, LocalScheduler, SyncJobs
from servicesync.daemon._http import build_http_app
from servicesync.errors import ConfigError
from servicesync.plugins import load_plugins
from servicesync.store import Store, WebhookReceipt
from servicesync_bitrix24 import Bitrix24Connector
from servicesync_bitrix24._registrar import EVENTS
from servicesync_bitrix24.fake import FakePortal
from sqlmodel import func, select

HOOK_URL = "https://sync.example.test/webhooks/crm"
APP_SECRET = "b24-client-secret-61d0"


def registrar_of(connector: Connector[Any]) -> WebhookRegistrar:
    registrar = connector.webhook_registrar()
    assert registrar is not None
    return registrar


@pytest.fixture
def app_token(portal: FakePortal) -> str:
    return portal.oauth.add_app("app.1", APP_SECRET)


@pytest.fixture
async def app_connector(
    portal: FakePortal,
    app_token: str,
    make_connector: Callable[..., Bitrix24Connector],
) -> AsyncIterator[Bitrix24Connector]:
    tokens = portal.oauth.issue("app.1")
    made = make_connector(
        client_id="app.1",
        client_secret=APP_SECRET,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        application_token=app_token,
    )
    yield made
    await made.aclose()


def bound(portal: FakePortal) -> set[tuple[str, str]]:
    return {(b.event, b.handler) for b in portal.events.bindings}


async def test_register_binds_every_event_the_streams_read(
    portal: FakePortal, app_connector: Bitrix24Connector
) -> None:
    made = await registrar_of(app_connector).register(HOOK_URL, None)

    assert bound(portal) == {(event, HOOK_URL) for event in EVENTS}
    assert {b.owner for b in portal.events.bindings} == {"app:app.1"}
    assert made == [RegisteredWebhook(event, HOOK_URL) for event in EVENTS]
    assert all(hook.expires_at is None and hook.secret is None for hook in made)


async def test_register_again_binds_nothing_twice(
    portal: FakePortal, app_connector: Bitrix24Connector
) -> None:
    registrar = registrar_of(app_connector)
    await registrar.register(HOOK_URL, None)

    again = await registrar.register(HOOK_URL, None)

    assert portal.method_calls["event.bind"] == len(EVENTS)
    assert len(portal.events.bindings) == len(EVENTS)
    assert len(again) == len(EVENTS)


async def test_register_without_application_token_binds_nothing(
    portal: FakePortal, make_connector: Callable[..., Bitrix24Connector]
) -> None:
    portal.oauth.add_app("app.1", APP_SECRET)
    tokens = portal.oauth.issue("app.1")
    connector = make_connector(
        client_id="app.1",
        client_secret=APP_SECRET,
        refresh_token=tokens["refresh_token"],
        access_token=tokens["access_token"],
    )

    with pytest.raises(ConfigError, match="application_token"):
        await registrar_of(connector).register(HOOK_URL, None)

    assert portal.method_calls["event.bind"] == 0
    await connector.aclose()


async def test_webhooks_lists_the_apps_handlers(
    portal: FakePortal, app_connector: Bitrix24Connector
) -> None:
    registrar = registrar_of(app_connector)
    await registrar.register(HOOK_URL, None)
    portal.events.add_outgoing_webhook("ONCRMDEALADD", "https://other.test/", "t")

    held = await registrar.webhooks()

    assert held is not None
    assert {(h.external_id, h.url) for h in held} == {
        (event, HOOK_URL) for event in EVENTS
    }


async def test_remove_unbinds_only_that_event_and_handler(
    portal: FakePortal, app_connector: Bitrix24Connector
) -> None:
    registrar = registrar_of(app_connector)
    await registrar.register(HOOK_URL, None)
    await app_connector.client.call(
        "event.bind",
        {"event": "ONCRMDEALADD", "handler": "https://other.test/"},
        write=True,
    )

    await registrar.remove(RegisteredWebhook("ONCRMDEALADD", HOOK_URL))

    assert ("ONCRMDEALADD", HOOK_URL) not in bound(portal)
    assert ("ONCRMDEALADD", "https://other.test/") in bound(portal)
    assert len(portal.events.bindings) == len(EVENTS)


async def test_incoming_webhook_gets_steps_for_an_outgoing_webhook(
    portal: FakePortal, connector: Bitrix24Connector
) -> None:
    steps = registrar_of(connector).manual_steps(HOOK_URL)

    assert steps is not None
    assert HOOK_URL in steps
    assert "Developer resources" in steps and "Outgoing webhook" in steps
    assert "[connections.crm.settings]" in steps and "application_token" in steps
    assert all(event in steps for event in EVENTS)
    assert portal.method_calls == {}


async def test_app_connection_needs_no_steps(app_connector: Bitrix24Connector) -> None:
    assert registrar_of(app_connector).manual_steps(HOOK_URL) is None


CONFIG = """
[connections.crm]
plugin = "bitrix24"
[connections.crm.settings]
portal_url = "{portal}"
client_id = "app.1"
client_secret = "{secret}"
access_token = "{access}"
refresh_token = "{refresh}"
application_token = "{token}"
"""


async def test_bound_event_reaches_the_daemons_route(store: Store) -> None:
    portal = FakePortal(clock=store.clock, seed=3)
    token = portal.oauth.add_app("app.1", APP_SECRET)
    tokens = portal.oauth.issue("app.1")
    config = parse_config(
        CONFIG.format(
            portal=portal.base_url,
            secret=APP_SECRET,
            access=tokens["access_token"],
            refresh=tokens["refresh_token"],
            token=token,
        )
    )
    plugins = load_plugins(modules=[("bitrix24", servicesync_bitrix24.plugin)])
    jobs = SyncJobs(
        config,
        store,
        plugins,
        DaemonMetrics(store),
        transports={"crm": portal.transport()},
    )
    http = build_http_app(jobs, LocalScheduler(jobs, store.clock, grace=30))
    try:
        registrar = registrar_of(jobs.engine.connector("crm"))
        await registrar.register(HOOK_URL, None)
        for binding in portal.events.bindings:
            assert binding.subscription is not None
            binding.subscription.app = http

        portal.data.add_deal({"TITLE": "Northwind"})
        delivered = await portal.webhooks.flush()
    finally:
        await jobs.aclose()

    assert [(d.event, d.status) for d in delivered] == [("ONCRMDEALADD", 200)]
    with store.session() as session:
        receipts = session.exec(select(func.count()).select_from(WebhookReceipt))
        assert receipts.one() == 1
