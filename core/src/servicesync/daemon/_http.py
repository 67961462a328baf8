"""The daemon's HTTP side: webhooks in, health and metrics out.

``POST /webhooks/{connection}`` hands the request, body untouched, to the
connection's own handler, which verifies it (signature, token, handshake).
A verified delivery is recorded by its delivery key before it is answered,
so a replay has no second effect, and a sync of the records it names is
queued (of the whole connection when it names none); the answer does not
wait for the sync. Where the service's keys may repeat
for distinct changes, a repeated key queues a sync too: reading again what
did not change writes nothing. A forged delivery is answered 401
and changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from servicesync.contract import WebhookRequest
from servicesync.daemon._jobs import Scheduler, SyncJobs
from servicesync.daemon._metrics import CONTENT_TYPE
from servicesync.errors import ServiceSyncError, WebhookRejected

__all__ = ["build_http_app"]

logger = logging.getLogger(__name__)


def build_http_app(
    jobs: SyncJobs, scheduler: Scheduler, *, public_url: str | None = None
) -> Starlette:
    """Return the ASGI app serving webhooks, ``/health`` and ``/metrics``."""

    async def webhook(request: Request) -> Response:
        connection = request.path_params["connection"]
        if connection not in jobs.config.connections:
            jobs.metrics.webhook(connection, "unknown")
            return JSONResponse({"error": "no such connection"}, status_code=404)
        try:
            handler = jobs.engine.connector(connection).webhook_handler()
        except ServiceSyncError as exc:
            logger.error("Webhook for %r cannot be checked: %s", connection, exc)
            return JSONResponse({"error": "connection unusable"}, status_code=503)
        if handler is None:
            jobs.metrics.webhook(connection, "unknown")
            return JSONResponse(
                {"error": "connection takes no webhooks"}, status_code=404
            )
        incoming = WebhookRequest(
            method=request.method,
            url=_registered_url(request, public_url),
            headers=dict(request.headers),
            body=await request.body(),
            query=dict(request.query_params),
        )
        try:
            answer = await handler.handle(incoming)
        except WebhookRejected as exc:
            jobs.metrics.webhook(connection, "rejected")
            logger.warning("Webhook for %r rejected: %s", connection, exc)
            return JSONResponse({"error": "rejected"}, status_code=401)
        key = answer.delivery_key
        if key is not None:
            first = jobs.store.record_receipt(connection, key)
            jobs.metrics.webhook(connection, "accepted" if first else "replayed")
            if first or answer.key_may_repeat:
                await scheduler.request(connection, f"webhook:{key}", answer.references)
            else:
                logger.info(
                    "Webhook %s for %r was seen before; nothing to do.", key, connection
                )
        return Response(
            answer.body, status_code=answer.status, headers=dict(answer.headers)
        )

    async def health(_request: Request) -> Response:
        try:
            controls = {c.connection: c for c in jobs.store.controls()}
        except Exception as exc:  # the store is the one thing health must report
            logger.error("Health check: the store cannot be read: %s", exc)
            return JSONResponse({"status": "unhealthy", "store": "unreachable"}, 503)
        body: dict[str, Any] = {
            "status": "ok",
            "worker": jobs.worker,
            "work": {
                "running": sorted(jobs.running),
                "waiting": await scheduler.waiting(),
            },
            "connections": {
                name: {
                    "enabled": settings.enabled,
                    "paused": bool(controls.get(name) and controls[name].paused),
                    "read_only": not jobs.engine.writable(name),
                    "schedule": settings.schedule.as_cron(),
                }
                for name, settings in jobs.config.connections.items()
            },
        }
        return JSONResponse(body)

    async def metrics(_request: Request) -> Response:
        return Response(jobs.metrics.render(), media_type=CONTENT_TYPE)

    return Starlette(
        routes=[
            Route("/webhooks/{connection}", webhook, methods=["POST", "HEAD", "GET"]),
            Route("/health", health),
            Route("/metrics", metrics),
        ]
    )


def _registered_url(request: Request, public_url: str | None) -> str:
    """The URL the service signed: the public one it was registered with."""
    if public_url:
        return public_url.rstrip("/") + request.url.path
    return str(request.url)
