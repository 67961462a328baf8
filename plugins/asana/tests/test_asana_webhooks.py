"""The handshake stores the secret; only deliveries signed with it get through."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from asana_helpers import HOOK_TARGET, ConnectorFactory, receiver
from servicesync.contract import RecordRef, WebhookRequest
from servicesync.errors import RecordError, WebhookRejected
from servicesync_asana import HOOK_SIGNATURE, AsanaConnector, hook_key
from servicesync_asana.fake import AsanaFake, FakeProject
from servicesync_sdk.signatures import sign_hmac_sha256_hex
from servicesync_sdk.testing import MemoryVault


def project(fake: AsanaFake) -> FakeProject:
    return fake.space.create_project({"name": "Hooked", "team": fake.space.team}, None)


async def delivery(fake: AsanaFake) -> WebhookRequest:
    """Flush the fake's queued deliveries; return the last as the handler got it."""
    sent = await fake.webhooks.flush()
    last = sent[-1]
    return WebhookRequest("POST", HOOK_TARGET, dict(last.headers), last.body)


async def test_webhook_handshake_stores_the_secret_in_the_vault(
    fake: AsanaFake, make: ConnectorFactory, vault: MemoryVault
) -> None:
    connector = make()
    fake.hook_receiver = receiver(connector)
    watched = project(fake)

    gid = await connector.webhooks.subscribe(watched.gid, HOOK_TARGET)

    stored = vault.get(f"webhook_secret:{hook_key(HOOK_TARGET)}")
    assert stored is not None and fake.hooks[gid].secret in stored
    # A connector built later on the same vault, as in another process.
    assert make().webhooks.secrets_for(HOOK_TARGET) == [fake.hooks[gid].secret]


async def test_webhook_signed_delivery_names_the_changed_task(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    fake.hook_receiver = receiver(connector)
    watched = project(fake)
    await connector.webhooks.subscribe(watched.gid, HOOK_TARGET)
    task = fake.space.create_task({"name": "New", "projects": [watched.gid]}, None)
    handler = connector.webhook_handler()
    assert handler is not None

    answer = await handler.handle(await delivery(fake))

    assert answer.status == 200
    assert RecordRef("tasks", task.gid) in answer.references
    assert RecordRef("progress", task.gid) in answer.references
    assert fake.webhooks.deliveries[-1].status == 200


async def test_webhook_wrong_signature_rejected(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    fake.hook_receiver = receiver(connector)
    watched = project(fake)
    await connector.webhooks.subscribe(watched.gid, HOOK_TARGET)
    fake.space.create_task({"name": "New", "projects": [watched.gid]}, None)
    valid = await delivery(fake)
    forged = dataclasses.replace(
        valid,
        headers={
            **valid.headers,
            HOOK_SIGNATURE: sign_hmac_sha256_hex("guess", valid.body),
        },
    )
    handler = connector.webhook_handler()
    assert handler is not None

    with pytest.raises(WebhookRejected) as rejected:
        await handler.handle(forged)

    assert rejected.value.status == 401


async def test_webhook_handshake_refused_when_no_subscription_is_being_made(
    connector: AsanaConnector, vault: MemoryVault
) -> None:
    handler = connector.webhook_handler()
    assert handler is not None
    attempt = WebhookRequest(
        "POST", HOOK_TARGET, {"X-Hook-Secret": "chosen-by-someone"}, b""
    )

    with pytest.raises(WebhookRejected):
        await handler.handle(attempt)

    assert vault.values == {}


async def test_webhook_subscription_fails_when_the_target_does_not_echo(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    fake.hook_receiver = lambda request: httpx.Response(200)
    watched = project(fake)

    with pytest.raises(RecordError):
        await connector.webhooks.subscribe(watched.gid, HOOK_TARGET)

    assert fake.hooks == {}


async def test_webhook_replay_has_the_same_delivery_key(
    fake: AsanaFake, connector: AsanaConnector
) -> None:
    fake.hook_receiver = receiver(connector)
    watched = project(fake)
    await connector.webhooks.subscribe(watched.gid, HOOK_TARGET)
    fake.space.create_task({"name": "New", "projects": [watched.gid]}, None)
    valid = await delivery(fake)
    handler = connector.webhook_handler()
    assert handler is not None

    first = await handler.handle(valid)
    again = await handler.handle(valid)

    assert first.delivery_key is not None
    assert again.delivery_key == first.delivery_key


async def test_webhook_to_a_target_without_a_secret_rejected(
    connector: AsanaConnector,
) -> None:
    body = b'{"events": []}'
    request = WebhookRequest(
        "POST", HOOK_TARGET, {HOOK_SIGNATURE: sign_hmac_sha256_hex("x", body)}, body
    )
    handler = connector.webhook_handler()
    assert handler is not None

    with pytest.raises(WebhookRejected):
        await handler.handle(request)
