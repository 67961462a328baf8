"""Helpers shared by the Bitrix24 tests."""

from __future__ import annotations

from collections.abc import Callable

from servicesync.contract import Page, Stream, StreamState, WebhookRequest
from servicesync_bitrix24 import Bitrix24Connector
from servicesync_bitrix24.fake import FakePortal


class MemoryVault:
    """A credential vault that records the order of writes."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.writes: list[str] = []

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def put(self, name: str, value: str) -> None:
        self.writes.append(name)
        self.values[name] = value


class MemoryState:
    """A plugin state store in a dict."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def put(self, key: str, value: str) -> None:
        self.values[key] = value


def stream(connector: Bitrix24Connector, name: str) -> Stream:
    return next(s for s in connector.streams() if s.name == name)


async def read_all(s: Stream, state: StreamState | None = None) -> list[Page]:
    return [page async for page in s.read(state or StreamState())]


def rest_requests(portal: FakePortal) -> int:
    return sum(1 for e in portal.log if e.path.startswith("/rest/"))


def event_request(
    portal: FakePortal, token: str, change: Callable[[], object]
) -> WebhookRequest:
    """Bind an outgoing webhook with ``token``, make ``change``, capture its POST."""
    url = f"https://sync.example/hooks/crm/{len(portal.events.bindings)}"
    portal.events.add_outgoing_webhook("ONCRMDEALUPDATE", url, token)
    change()
    subscription, _, payload = portal.webhooks.pending[-1]
    prepared = subscription.scheme.prepare(
        payload, subscription.url, portal.clock.now()
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return WebhookRequest("POST", subscription.url, headers, prepared.body)
