"""The store keeps registered webhooks, their secrets only encrypted."""

from __future__ import annotations

from datetime import timedelta

from servicesync.contract import RegisteredWebhook
from servicesync.store import Store
from servicesync.store.testing import every_row

URL = "https://sync.example.test/webhooks/delivery"
SECRET = "whsec-7f3a9c1e5b2d4f6a8c0e"


def test_webhooks_saved_are_listed_by_service_id(store: Store) -> None:
    expiry = store.now() + timedelta(days=30)
    store.save_webhooks(
        "delivery",
        [RegisteredWebhook("20", URL, expiry), RegisteredWebhook("10", URL)],
    )
    store.save_webhooks("crm", [RegisteredWebhook("ONCRMDEALADD", URL)])

    found = store.webhooks("delivery")

    assert [(h.external_id, h.url, h.expires_at) for h in found] == [
        ("10", URL, None),
        ("20", URL, expiry),
    ]
    assert all(h.connection == "delivery" for h in found)


def test_webhook_secret_never_stored_in_clear(store: Store) -> None:
    store.save_webhooks("delivery", [RegisteredWebhook("10", URL, secret=SECRET)])

    rows = every_row(store.engine)["webhooks"]

    assert len(rows) == 1
    assert not any(SECRET in repr(value) for value in rows[0])
    assert store.webhook_secret("delivery", "10") == SECRET
    assert store.webhooks("delivery")[0].has_secret


def test_webhook_without_secret_has_none(store: Store) -> None:
    store.save_webhooks("delivery", [RegisteredWebhook("10", URL)])

    assert store.webhook_secret("delivery", "10") is None
    assert not store.webhooks("delivery")[0].has_secret


def test_webhook_saved_again_keeps_its_first_creation(store: Store) -> None:
    store.save_webhooks("delivery", [RegisteredWebhook("10", URL)])
    first = store.webhooks("delivery")[0]
    store.clock.advance(3600)  # type: ignore[attr-defined]
    later = store.now() + timedelta(days=30)

    store.save_webhooks("delivery", [RegisteredWebhook("10", URL + "?v=2", later)])

    (again,) = store.webhooks("delivery")
    assert again.created_at == first.created_at
    assert (again.url, again.expires_at) == (URL + "?v=2", later)


def test_webhook_renewed_records_its_new_expiry(store: Store) -> None:
    soon = store.now() + timedelta(days=1)
    store.save_webhooks("delivery", [RegisteredWebhook("10", URL, soon)])

    store.renew_webhook("delivery", "10", soon + timedelta(days=29))

    assert store.webhooks("delivery")[0].expires_at == soon + timedelta(days=29)


def test_webhooks_forgotten_only_those_named(store: Store) -> None:
    hooks = [RegisteredWebhook(str(n), URL) for n in range(3)]
    store.save_webhooks("delivery", hooks)
    store.save_webhooks("other", hooks)

    gone = store.forget_webhooks("delivery", ["0", "2", "missing"])

    assert gone == 2
    assert [h.external_id for h in store.webhooks("delivery")] == ["1"]
    assert len(store.webhooks("other")) == 3
