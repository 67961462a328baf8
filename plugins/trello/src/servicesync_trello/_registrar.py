"""A Trello webhook on every board the connection reads.

``POST /1/webhooks/`` registers a callback for one model; Trello first sends a
``HEAD`` to the callback, which the daemon's ``/webhooks/CONNECTION`` route
answers, and refuses the webhook unless the answer is 200. Deliveries are
signed with the application's secret over the body and the callback URL as
registered, so the URL is kept in the plugin state, where the daemon's
handler reads it. ``GET /1/tokens/{token}/webhooks`` lists the webhooks the
connection's token made and ``DELETE /1/webhooks/{id}`` removes one. Trello
webhooks do not expire.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from servicesync.contract import RegisteredWebhook, WebhookRegistrar
from servicesync.errors import ConfigError, FatalError, RecordError

from servicesync_trello._errors import error_text, malformed, raise_for_status

if TYPE_CHECKING:
    from servicesync_trello._connector import TrelloConnector

__all__ = ["TrelloWebhookRegistrar"]

logger = logging.getLogger(__name__)

#: How the token's webhook listing is named in logs and errors: the path
#: itself carries the token.
_TOKEN_WEBHOOKS = "GET /tokens/{token}/webhooks"


class TrelloWebhookRegistrar(WebhookRegistrar):
    """Registers, lists and removes the connection token's board webhooks."""

    def __init__(self, connector: TrelloConnector) -> None:
        self.connector = connector
        self.client = connector.client

    async def register(
        self, url: str, secret: str | None
    ) -> Sequence[RegisteredWebhook]:
        """Watch each board the streams read, skipping boards watched at ``url``.

        A board servicesync creates later is watched once ``register`` runs
        again; until then the schedule's reads find its changes.

        Raises:
            ConfigError: no ``app_secret`` is set, so no delivery could be
                checked; nothing is registered then.
            RecordError: Trello refused a webhook, such as when the daemon
                did not answer its ``HEAD`` check.
        """
        self._check_secret()
        watched = {hook["idModel"] for hook in await self._held() if _at(hook, url)}
        for board in await self.connector.boards():
            if board["id"] not in watched:
                await self._watch(board["id"], url)
        self.connector.context.state.put("webhook:callback_url", url)
        return [_webhook(hook) for hook in await self._held() if _at(hook, url)]

    async def webhooks(self) -> Sequence[RegisteredWebhook]:
        """Every webhook the connection's token made."""
        return [_webhook(hook) for hook in await self._held()]

    async def remove(self, webhook: RegisteredWebhook) -> None:
        """Delete one webhook; one Trello no longer knows is no error."""
        response = await self.client.delete(f"/webhooks/{webhook.external_id}")
        if response.status_code == 404:
            logger.info("Trello webhook %s was gone already.", webhook.external_id)
            return
        raise_for_status(response, "delete a webhook")

    async def _watch(self, board_id: str, url: str) -> None:
        try:
            await self.connector.register_webhook(board_id, url=url)
        except RecordError as exc:
            msg = (
                f"{exc} Trello checks a callback with a HEAD request before it "
                f"registers it: the daemon must be running and reachable at {url}."
            )
            raise RecordError(msg, service="trello", endpoint=exc.endpoint) from exc

    async def _held(self) -> list[dict[str, Any]]:
        token = self.connector.config.token
        response = await self.client.get(
            f"/tokens/{token}/webhooks", endpoint=_TOKEN_WEBHOOKS
        )
        if not response.is_success:
            # Not raise_for_status: its error would name the path, token and all.
            msg = (
                f"Trello refused to list the token's webhooks "
                f"({response.status_code}): {error_text(response)}."
            )
            raise FatalError(msg, service="trello", endpoint=_TOKEN_WEBHOOKS)
        hooks = self.client.json(response, _TOKEN_WEBHOOKS)
        if not isinstance(hooks, list):
            raise malformed("the token's webhooks are not a list")
        return [dict(hook) for hook in hooks if isinstance(hook, dict)]

    def _check_secret(self) -> None:
        if self.connector.config.app_secret:
            return
        connection = self.connector.context.connection
        msg = (
            "Trello signs deliveries with the application's secret, and none "
            "is set, so every delivery would be refused. Set it (Trello shows "
            "it beside the API key), then register again."
        )
        raise ConfigError(msg, key=f"connections.{connection}.settings.app_secret")


def _at(hook: dict[str, Any], url: str) -> bool:
    return hook.get("callbackURL") == url


def _webhook(hook: dict[str, Any]) -> RegisteredWebhook:
    return RegisteredWebhook(str(hook["id"]), str(hook.get("callbackURL", "")))
