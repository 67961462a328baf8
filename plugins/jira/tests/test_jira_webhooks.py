"""Webhook deliveries are verified on the raw body before anything is read."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import servicesync_jira.plugin
from servicesync.config import parse_config
from servicesync.contract import RecordRef, WebhookRequest
from servicesync.engine import Engine
from servicesync.errors import WebhookRejected
from servicesync.plugins import load_plugins
from servicesync.store import Store
from servicesync.store.testing import every_row
from servicesync_jira import JiraConnector
from servicesync_jira.fake import DELIVERY_HEADER, JiraFake

APP_SECRET = "app-client-secret-of-thirty-two-bytes"


async def delivered(
    fake: JiraFake, secret: str, *, app: bool = False
) -> WebhookRequest:
    """Have the fake sign a real issue event and capture what it sent."""
    captured: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(200)

    subscribe = fake.subscribe_app_webhook if app else fake.subscribe_admin_webhook
    subscribe("https://hooks.example.test/jira", secret, handler=handler)
    lead = next(iter(fake.site.users))
    fake.site.create_project({"key": "WEB", "name": "Web", "leadAccountId": lead})
    made = fake.issues.create(
        {
            "fields": {
                "project": {"key": "WEB"},
                "issuetype": {"name": "Task"},
                "summary": "x",
            }
        }
    )
    fake.transition(made["key"], "Done")
    await fake.webhooks.flush()
    sent = captured[-1]
    return WebhookRequest("POST", str(sent.url), dict(sent.headers), sent.content)


async def test_webhook_hub_signature_accepted_with_references(
    fake: JiraFake, connector: JiraConnector
) -> None:
    request = await delivered(fake, "hook-secret-abc")

    answer = await connector.webhook_handler().handle(request)  # type: ignore[union-attr]

    issue_id = json.loads(request.body)["issue"]["id"]
    assert answer.references == [RecordRef("issues", issue_id)]
    assert answer.delivery_key == request.header(DELIVERY_HEADER)


async def test_webhook_wrong_signature_rejected_with_401(
    fake: JiraFake, connector: JiraConnector
) -> None:
    request = await delivered(fake, "another-secret")

    with pytest.raises(WebhookRejected) as caught:
        await connector.webhook_handler().handle(request)  # type: ignore[union-attr]

    assert caught.value.status == 401


async def test_webhook_tampered_body_rejected(
    fake: JiraFake, connector: JiraConnector
) -> None:
    request = await delivered(fake, "hook-secret-abc")
    tampered = WebhookRequest("POST", request.url, request.headers, request.body + b" ")

    with pytest.raises(WebhookRejected):
        await connector.webhook_handler().handle(tampered)  # type: ignore[union-attr]


async def test_webhook_app_jwt_accepted(fake: JiraFake, make: object) -> None:
    request = await delivered(fake, APP_SECRET, app=True)
    app_connector = make(webhook_secret=None, client_secret=APP_SECRET)  # type: ignore[operator]

    answer = await app_connector.webhook_handler().handle(request)

    assert answer.delivery_key == request.header(DELIVERY_HEADER)


async def test_webhook_app_jwt_with_wrong_secret_rejected(
    fake: JiraFake, make: object
) -> None:
    request = await delivered(fake, APP_SECRET, app=True)
    app_connector = make(webhook_secret=None, client_secret="x" * 40)  # type: ignore[operator]

    with pytest.raises(WebhookRejected):
        await app_connector.webhook_handler().handle(request)


ENGINE_CONFIG = """
[connections.delivery]
plugin = "jira"
[connections.delivery.settings]
site_url = "{site}"
email = "bot@acme.test"
api_token = "bot-token-123456"
webhook_secret = "hook-secret-abc"
"""


@pytest.fixture
async def engine(fake: JiraFake, store: Store) -> AsyncIterator[Engine]:
    config = parse_config(ENGINE_CONFIG.format(site=fake.base_url))
    plugins = load_plugins(modules=[("jira", servicesync_jira.plugin)])
    made = Engine(config, store, plugins, transports={"delivery": fake.transport()})
    yield made
    await made.aclose()


async def test_webhook_wrong_signature_through_the_engine_changes_nothing(
    fake: JiraFake, engine: Engine, store: Store
) -> None:
    request = await delivered(fake, "another-secret")
    before = every_row(store.engine)
    calls = len(fake.log)

    with pytest.raises(WebhookRejected) as caught:
        await engine.handle_webhook("delivery", request)

    assert caught.value.status == 401
    assert every_row(store.engine) == before
    assert len(fake.log) == calls


async def test_webhook_signed_delivery_through_the_engine_is_taken_once(
    fake: JiraFake, engine: Engine, store: Store
) -> None:
    request = await delivered(fake, "hook-secret-abc")

    await engine.handle_webhook("delivery", request)
    calls = len(fake.log)
    replay = await engine.handle_webhook("delivery", request)

    assert replay.delivery_key == request.header(DELIVERY_HEADER)
    assert len(every_row(store.engine)["webhook_receipts"]) == 1
    assert len(fake.log) == calls
