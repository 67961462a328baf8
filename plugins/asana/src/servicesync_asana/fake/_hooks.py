"""Webhooks of the fake: the ``X-Hook-Secret`` handshake and signed deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from servicesync_sdk.fakes import Subscription
from starlette.requests import Request
from starlette.routing import Route

from servicesync_asana.fake._errors import FakeAsanaError
from servicesync_asana.fake._http import (
    API,
    answer,
    data_of,
    listing,
    shaped,
    user_of,
)
from servicesync_asana.fake._records import asana_time

if TYPE_CHECKING:
    from servicesync_asana.fake._service import AsanaFake

__all__ = ["FakeWebhook", "build_hook_routes", "handshake"]

HOOK_SECRET = "X-Hook-Secret"


@dataclass
class FakeWebhook:
    """A webhook: what it watches, where it posts, its secret and its maker.

    ``owner`` is the gid of the user whose token made it; ``None`` shows it
    to every user.
    """

    gid: str
    resource: str
    target: str
    secret: str
    created_at: datetime
    subscription: Subscription
    owner: str | None = None


async def handshake(fake: AsanaFake, target: str, secret: str) -> bool:
    """Post ``X-Hook-Secret`` to ``target``; true when it was echoed with 200/204."""
    receiver = fake.hook_receiver
    if receiver is None:
        client = httpx.AsyncClient(timeout=10.0)
    else:
        client = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    try:
        async with client:
            response = await client.post(target, headers={HOOK_SECRET: secret})
    except httpx.HTTPError:
        return False
    echoed = response.headers.get(HOOK_SECRET)
    return response.status_code in (200, 204) and echoed == secret


def _full(fake: AsanaFake, hook: FakeWebhook) -> dict[str, Any]:
    space = fake.space
    if hook.resource in space.projects:
        resource = space.views.compact_project(space.projects[hook.resource])
    elif hook.resource in space.tasks:
        resource = space.views.compact_task(space.tasks[hook.resource])
    else:
        resource = {"gid": hook.resource, "resource_type": "project", "name": ""}
    return {
        "gid": hook.gid,
        "resource_type": "webhook",
        "active": True,
        "resource": resource,
        "target": hook.target,
        "created_at": asana_time(hook.created_at),
        "last_success_at": None,
        "last_failure_at": None,
        "last_failure_content": "",
        "filters": [],
    }


def build_hook_routes(fake: AsanaFake) -> list[Route]:
    """Return the webhook endpoints of ``fake``."""

    @answer(201)
    async def create(request: Request) -> Any:
        data = await data_of(request)
        resource, target = (
            str(data.get("resource") or ""),
            str(data.get("target") or ""),
        )
        if not resource or not target:
            raise FakeAsanaError(400, "resource and target: Missing input")
        if resource not in fake.space.projects and resource not in fake.space.tasks:
            raise FakeAsanaError(404, "resource: Unknown object")
        if urlsplit(target).hostname in ("localhost", None):
            raise FakeAsanaError(403, "target: Not a host Asana can reach.")
        secret = f"{fake.random.getrandbits(256):064x}"
        if not await handshake(fake, target, secret):
            raise FakeAsanaError(400, "target: The handshake with the target failed.")
        hook = fake.add_webhook(resource, target, secret, owner=user_of(request))
        return {"data": shaped(request, _full(fake, hook)), HOOK_SECRET: secret}

    @answer()
    async def listed(request: Request) -> Any:
        workspace = request.query_params.get("workspace")
        if not workspace:
            raise FakeAsanaError(400, "workspace: Missing input")
        if workspace != fake.space.gid:
            raise FakeAsanaError(404, "workspace: Unknown object")
        wanted = request.query_params.get("resource")
        # Asana lists only the webhooks the requesting user made.
        user = user_of(request)
        rows = [
            hook
            for hook in fake.hooks.values()
            if wanted in (None, hook.resource) and hook.owner in (None, user)
        ]

        def render(hook: FakeWebhook) -> dict[str, Any]:
            return _full(fake, hook)

        return listing(fake, request, rows, render, _compact, "webhooks")

    @answer()
    async def delete(request: Request) -> Any:
        hook = fake.hooks.pop(request.path_params["webhook_gid"], None)
        if hook is None:
            raise FakeAsanaError(404, "webhook: Unknown object")
        fake.webhooks.unsubscribe(hook.subscription)
        return {"data": {}}

    return [
        Route(f"{API}/webhooks", create, methods=["POST"]),
        Route(f"{API}/webhooks", listed, methods=["GET"]),
        Route(f"{API}/webhooks/{{webhook_gid}}", delete, methods=["DELETE"]),
    ]


def _compact(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("gid", "resource_type", "active", "resource", "target")
    return {k: row[k] for k in keys if k in row}
