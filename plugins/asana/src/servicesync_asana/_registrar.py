"""An Asana webhook on each project the connection reads.

``POST /webhooks`` creates a webhook on one resource. While that call is in
flight Asana posts ``X-Hook-Secret`` to the target, which the daemon's
``/webhooks/CONNECTION`` route answers through this connector's handler, and
Asana refuses the webhook unless the secret comes back. The handler echoes
only while the plugin state says a webhook to that URL is being made; the
registrar writes that flag before posting, and it reaches the daemon through
the store they share. ``GET /webhooks?workspace=...`` lists the webhooks the
token's user made in the workspace, and ``DELETE /webhooks/{gid}`` removes
one. Asana webhooks do not expire, so nothing is renewed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from servicesync.contract import RegisteredWebhook, WebhookRegistrar
from servicesync.errors import RecordError

if TYPE_CHECKING:
    from servicesync_asana._connector import AsanaConnector

__all__ = ["AsanaWebhookRegistrar"]

logger = logging.getLogger(__name__)

#: The plugin state's key for the URL the connection's webhooks post to.
_URL_KEY = "webhook:url"


class AsanaWebhookRegistrar(WebhookRegistrar):
    """Subscribes, lists and deletes the webhooks on the connection's projects."""

    def __init__(self, connector: AsanaConnector) -> None:
        self.connector = connector
        self.subscriptions = connector.webhooks
        self.state = connector.context.state

    async def register(
        self, url: str, secret: str | None
    ) -> Sequence[RegisteredWebhook]:
        """Watch each project the streams read, skipping those watched at ``url``.

        The projects are the configured ``projects``, or else every live
        project of the team (or workspace). A project made later is watched
        once ``register`` runs again; until then the schedule's reads find
        its changes.

        Raises:
            RecordError: Asana refused a webhook, such as when the daemon did
                not echo its handshake.
        """
        # Kept first, so that webhooks made before a failure are listed.
        self.state.put(_URL_KEY, url)
        watched = {_resource(row) for row in await self._held(url)}
        for project in await self.connector.scope():
            if project not in watched:
                await self._watch(project, url)
        return [_webhook(row) for row in await self._held(url)]

    async def webhooks(self) -> Sequence[RegisteredWebhook]:
        """The webhooks posting to the URL the connection registered at."""
        url = self.state.get(_URL_KEY)
        if not url:
            return []
        return [_webhook(row) for row in await self._held(url)]

    async def remove(self, webhook: RegisteredWebhook) -> None:
        """Delete one webhook and forget its secret; one already gone is no error."""
        deleted = await self.subscriptions.unsubscribe(webhook.external_id, webhook.url)
        if not deleted:
            logger.info("Asana webhook %s was gone already.", webhook.external_id)

    async def _watch(self, project: str, url: str) -> None:
        try:
            await self.subscriptions.subscribe(project, url)
        except RecordError as exc:
            msg = (
                f"{exc} Asana posts a secret to the URL while it creates a "
                "webhook and wants it echoed: the daemon must be running, "
                f"sharing this store, and reachable at {url}."
            )
            raise RecordError(msg, service="asana", endpoint=exc.endpoint) from exc

    async def _held(self, url: str) -> list[dict[str, Any]]:
        """Return the workspace's webhooks of the token's user posting to ``url``."""
        params = {"workspace": self.connector.config.workspace}
        rows = self.connector.api.walk("/webhooks", "list webhooks", params)
        return [row async for row in rows if row.get("target") == url]


def _resource(row: dict[str, Any]) -> str:
    resource = row.get("resource")
    return str(resource.get("gid", "")) if isinstance(resource, dict) else ""


def _webhook(row: dict[str, Any]) -> RegisteredWebhook:
    return RegisteredWebhook(str(row["gid"]), str(row.get("target", "")))
