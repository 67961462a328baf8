"""What the Asana tests share besides fixtures: constants, config, receivers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from servicesync.contract import WebhookRequest
from servicesync.errors import WebhookRejected
from servicesync_asana import AsanaConfig, AsanaConnector
from servicesync_asana.fake import AsanaFake
from starlette.applications import Starlette

TOKEN = "2/1200/admin-token-0123456789abcdef"
TEAM = [f"dev{n}@acme.test" for n in range(4)]
HOOK_TARGET = "https://sync.acme.test/hooks/asana?connection=delivery"

ConnectorFactory = Callable[..., AsanaConnector]
Receiver = Callable[[httpx.Request], Awaitable[httpx.Response]]


def settings(fake: AsanaFake, **config: Any) -> AsanaConfig:
    """Return a config reaching ``fake``'s workspace and team with the admin token."""
    values: dict[str, Any] = {
        "workspace": fake.space.gid,
        "team": fake.space.team,
        "access_token": TOKEN,
        **config,
    }
    return AsanaConfig.model_validate(values)


def receiver(connector: AsanaConnector) -> Receiver:
    """Return an httpx handler that passes posts to the connector's webhook handler."""

    async def receive(request: httpx.Request) -> httpx.Response:
        handler = connector.webhook_handler()
        assert handler is not None
        incoming = WebhookRequest(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            body=await request.aread(),
        )
        try:
            answer = await handler.handle(incoming)
        except WebhookRejected as exc:
            return httpx.Response(exc.status, json={"error": str(exc)})
        return httpx.Response(
            answer.status, headers=dict(answer.headers), content=answer.body
        )

    return receive


def served(app: Starlette) -> Receiver:
    """Return an httpx handler that passes posts to ``app``, served in process.

    With the daemon's app, handshakes and deliveries take the path they take
    in production: the route, the connector's handler, the store.
    """
    transport = httpx.ASGITransport(app=app)

    async def receive(request: httpx.Request) -> httpx.Response:
        return await transport.handle_async_request(request)

    return receive
