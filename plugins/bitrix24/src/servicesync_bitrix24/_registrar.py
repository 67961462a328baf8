"""Pointing a portal's events at the daemon, by ``event.bind`` or by hand.

An OAuth application binds one handler per event with ``event.bind``; the
portal then posts each event there carrying the application's token, which
the connection's ``application_token`` must hold (the portal hands it over
when the application is installed). ``event.get`` lists the application's
handlers and ``event.unbind`` removes one. A binding is named by its event,
and never expires.

An incoming webhook cannot bind events: the method works only with an
application's authorization. For such a connection the registrar gives the
steps to create an outgoing webhook in the portal instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from servicesync.contract import RegisteredWebhook, WebhookRegistrar
from servicesync.errors import ConfigError

from servicesync_bitrix24._client import MethodFailed

if TYPE_CHECKING:
    from servicesync_bitrix24.connector import Bitrix24Connector

__all__ = ["EVENTS", "Bitrix24WebhookRegistrar"]

logger = logging.getLogger(__name__)

#: The events whose records the streams read, as the handler maps them.
EVENTS = (
    "ONCRMDEALADD",
    "ONCRMDEALUPDATE",
    "ONCRMDEALDELETE",
    "ONCRMCOMPANYADD",
    "ONCRMCOMPANYUPDATE",
    "ONCRMCONTACTADD",
    "ONCRMCONTACTUPDATE",
    "ONTASKADD",
    "ONTASKUPDATE",
)

_ALREADY_BOUND = "ERROR_EVENT_HANDLER_ALREADY_BINDED"

_OUTGOING_STEPS = """\
In the Bitrix24 portal {portal}:
1. Open Applications > Developer resources, then Ready-made scenarios >
   Other > Outgoing webhook.
2. Handler URL: {url}
3. Select these events, all in this one outgoing webhook (each outgoing
   webhook has a token of its own):
   {events}
4. Save. The portal shows the webhook's application token.
5. Put that token in the config, as
   [connections.{connection}.settings]
   application_token = "${{BITRIX24_APPLICATION_TOKEN}}"
   and set BITRIX24_APPLICATION_TOKEN in the daemon's environment (or write
   the token there directly). Deliveries that carry another token are
   refused.
6. Restart the daemon so it reads the token."""


class Bitrix24WebhookRegistrar(WebhookRegistrar):
    """Binds, lists and unbinds the portal's event handlers for one connection."""

    def __init__(self, connector: Bitrix24Connector) -> None:
        self.client = connector.client
        self.config = connector.config
        self.connection = connector.context.connection

    def manual_steps(self, url: str) -> str | None:
        """The outgoing-webhook steps, for a connection by incoming webhook."""
        if self.config.uses_oauth:
            return None
        return _OUTGOING_STEPS.format(
            portal=self.config.portal_url,
            url=url,
            events=", ".join(EVENTS),
            connection=self.connection,
        )

    async def register(
        self, url: str, secret: str | None
    ) -> Sequence[RegisteredWebhook]:
        """Bind ``url`` to every event the streams read; skip those bound.

        Raises:
            ConfigError: no ``application_token`` is configured, so every
                delivery would be refused; nothing is bound then.
        """
        self._check_token()
        bound = {(hook.external_id, hook.url) for hook in await self.webhooks()}
        for event in EVENTS:
            if (event, url) not in bound:
                await self._bind(event, url)
        return [RegisteredWebhook(event, url) for event in EVENTS]

    async def webhooks(self) -> Sequence[RegisteredWebhook]:
        """The application's online handlers, by ``event.get``."""
        answer = await self.client.call("event.get")
        rows = answer.get("result")
        if not isinstance(rows, list):
            return []
        return [
            RegisteredWebhook(str(row.get("event", "")).upper(), str(row["handler"]))
            for row in rows
            if isinstance(row, dict) and row.get("handler") and not _offline(row)
        ]

    async def remove(self, webhook: RegisteredWebhook) -> None:
        """Unbind one handler; both event and handler are always named.

        ``event.unbind`` without a handler removes every handler of the
        event, those of other integrations included.
        """
        params = {"event": webhook.external_id, "handler": webhook.url}
        answer = await self.client.call("event.unbind", params, write=True)
        logger.info(
            "Unbound %s of %r: %s handler(s).",
            webhook.external_id,
            self.connection,
            (answer.get("result") or {}).get("count", "?"),
        )

    async def _bind(self, event: str, url: str) -> None:
        params = {"event": event, "handler": url}
        try:
            await self.client.call("event.bind", params, write=True)
        except MethodFailed as exc:
            # Bound meanwhile by another run of the same registration.
            if exc.code != _ALREADY_BOUND:
                raise

    def _check_token(self) -> None:
        if self.config.application_token:
            return
        msg = (
            "Events bound now would all be refused: no application_token is "
            "set. Put there the token the portal gave when the application "
            "was installed, then register again."
        )
        key = f"connections.{self.connection}.settings.application_token"
        raise ConfigError(msg, key=key)


def _offline(row: dict[str, object]) -> bool:
    return str(row.get("offline", "0")) not in ("0", "", "False", "false")
