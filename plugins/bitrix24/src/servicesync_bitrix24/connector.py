"""The Bitrix24 connector: streams, actions and the event handler of one portal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from servicesync.contract import (
    Action,
    Connector,
    ConnectorContext,
    Stream,
    WebhookHandler,
    WebhookRegistrar,
)

from servicesync_bitrix24._actions import build_actions, invoice_paid
from servicesync_bitrix24._client import Bitrix24Client
from servicesync_bitrix24._config import Bitrix24Config
from servicesync_bitrix24._offline import OfflineEvents
from servicesync_bitrix24._registrar import Bitrix24WebhookRegistrar
from servicesync_bitrix24._streams import build_streams
from servicesync_bitrix24._webhook import Bitrix24WebhookHandler
from servicesync_bitrix24.mapping import deal_fields

__all__ = ["Bitrix24Config", "Bitrix24Connector"]


class Bitrix24Connector(Connector[Bitrix24Config]):
    """Reads deals and their surroundings from a portal and writes back to it."""

    name = "bitrix24"
    config_model = Bitrix24Config
    secret_fields = frozenset(
        {"webhook_url", "client_secret", "access_token", "refresh_token",
         "application_token"}
    )  # fmt: skip

    def __init__(self, config: Bitrix24Config, context: ConnectorContext) -> None:
        super().__init__(config, context)
        self.client = Bitrix24Client(config, context)
        self.offline = (
            OfflineEvents(self.client, context.state, context.connection)
            if config.events == "offline"
            else None
        )

    def streams(self) -> Sequence[Stream]:
        """Deals, companies, contacts, pipelines, stages, stage history, users,
        deal fields and tasks."""
        return build_streams(
            self.client, self.config.skew_seconds, self.context.state,
            self.config.deletion_scan_seconds, self.offline,
        )  # fmt: skip

    def actions(self) -> Mapping[str, Action[Any]]:
        """Set deal fields, move a deal's stage, comment, create an invoice."""
        return build_actions(self.client)

    def map_record(
        self, stream: str, payload: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """Map deals to the core's deal fields; other streams stay raw."""
        if stream != "deals":
            return None
        return deal_fields(payload)

    def call_counts(self) -> Mapping[str, int]:
        """Calls, retries, slow-downs and errors of this connection so far."""
        return self.client.http.stats.counts()

    def webhook_handler(self) -> WebhookHandler | None:
        """The handler of outgoing webhooks and ``event.bind`` deliveries."""
        return Bitrix24WebhookHandler(self.config.application_token)

    def webhook_registrar(self) -> WebhookRegistrar | None:
        """Binds events for an OAuth application; steps for an outgoing webhook."""
        return Bitrix24WebhookRegistrar(self)

    async def invoice_paid(self, invoice_id: str) -> bool:
        """Tell whether a new invoice is paid."""
        return await invoice_paid(self.client, invoice_id)

    async def check(self) -> None:
        """Read the current user's pipelines: one cheap authenticated call."""
        await self.client.call("crm.category.list", {"entityTypeId": 2})

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.client.aclose()
