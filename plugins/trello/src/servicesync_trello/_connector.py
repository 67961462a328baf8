"""The Trello connector."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from servicesync.contract import (
    Action,
    Connector,
    ConnectorContext,
    Stream,
    WebhookHandler,
    WebhookRegistrar,
)
from servicesync.engine import DeliveryItem
from servicesync.errors import ConfigError

from servicesync_trello._actions_board import AddTeam, CreateMilestone, CreateProject
from servicesync_trello._actions_cards import CreateTasks
from servicesync_trello._actions_update import UpdateMilestone, UpdateProject
from servicesync_trello._client import build_client
from servicesync_trello._config import TrelloConfig
from servicesync_trello._delivery import delivery_item
from servicesync_trello._errors import malformed, raise_for_status
from servicesync_trello._lists import BoardLists
from servicesync_trello._members import BoardMembers
from servicesync_trello._registrar import TrelloWebhookRegistrar
from servicesync_trello._streams import (
    BATCH_SIZE,
    BoardsStream,
    CardsStream,
    ListsStream,
)
from servicesync_trello._webhooks import TrelloWebhookHandler

__all__ = ["TrelloConnector"]

logger = logging.getLogger(__name__)

_BOARD_FIELDS = "name,desc,closed,idOrganization,url,shortUrl"


class TrelloConnector(Connector[TrelloConfig]):
    """Boards, lists, cards and members in Trello; cards read back as progress."""

    name = "trello"
    config_model = TrelloConfig
    secret_fields = frozenset({"api_key", "token", "app_secret"})

    def __init__(self, config: TrelloConfig, context: ConnectorContext) -> None:
        super().__init__(config, context)
        self.client = build_client(config, context)
        self.lists = BoardLists(self)
        self.members = BoardMembers(self)
        self._service_time: datetime | None = None

    def streams(self) -> Sequence[Stream]:
        return [BoardsStream(self), ListsStream(self), CardsStream(self)]

    def actions(self) -> Mapping[str, Action[Any]]:
        found: list[Action[Any]] = [
            CreateProject(self),
            CreateMilestone(self),
            CreateTasks(self),
            AddTeam(self),
            UpdateProject(self),
            UpdateMilestone(self),
        ]
        return {a.name: a for a in found}

    def delivery_item(
        self, stream: str, payload: Mapping[str, Any]
    ) -> DeliveryItem | None:
        """Read a board, list or card as a part of a deal's project.

        This makes the connector a :class:`~servicesync.engine.DeliveryView`,
        which two-way consistency reads progress through.
        """
        state, done_lists = self.context.state, self.config.done_lists
        return delivery_item(state, done_lists, stream, payload)

    def webhook_handler(self) -> WebhookHandler | None:
        return TrelloWebhookHandler(self)

    def webhook_registrar(self) -> WebhookRegistrar | None:
        """A webhook per watched board, Trello's ``HEAD`` check answered."""
        return TrelloWebhookRegistrar(self)

    async def check(self) -> None:
        await self.get_json("/members/me", {"fields": "id"})

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- reading -------------------------------------------------------------

    async def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` and return its JSON, noting Trello's clock from ``Date``."""
        response = await self.client.get(path, params=params)
        raise_for_status(response, f"read {path}")
        self._note_time(response)
        return self.client.json(response)

    async def batch_get(self, urls: Sequence[str]) -> list[tuple[int, Any]]:
        """Read up to ten GET routes in one ``/batch`` call.

        Returns:
            For each route, in order, its status and its body.
        """
        if not urls:
            return []
        if len(urls) > BATCH_SIZE:
            raise ValueError(f"One /batch call carries at most {BATCH_SIZE} routes.")
        body = await self.get_json("/batch", {"urls": ",".join(urls)})
        if not isinstance(body, list) or len(body) != len(urls):
            raise malformed("/batch did not answer once per route")
        return [_batch_item(item) for item in body]

    async def boards(self, *, all_open: bool = False) -> list[dict[str, Any]]:
        """Return the Workspace's open boards: the configured ones, or all."""
        found = await self.get_json(
            f"/organizations/{self.config.organization}/boards",
            {"filter": "open", "fields": _BOARD_FIELDS},
        )
        if not isinstance(found, list):
            raise malformed("the Workspace's boards are not a list")
        wanted = set(self.config.board_ids)
        if wanted and not all_open:
            found = [b for b in found if b.get("id") in wanted]
        return [dict(b) for b in found]

    def service_time(self) -> datetime:
        """Return Trello's time as its last answer gave it, else the clock's."""
        return self._service_time or self.context.clock.now()

    def _note_time(self, response: httpx.Response) -> None:
        stamp = response.headers.get("date")
        if not stamp:
            return
        try:
            self._service_time = parsedate_to_datetime(stamp).astimezone(UTC)
        except (TypeError, ValueError):
            logger.debug("Trello's Date header could not be read.")

    # -- webhooks ------------------------------------------------------------

    async def register_webhook(
        self,
        id_model: str,
        description: str = "servicesync",
        *,
        url: str | None = None,
    ) -> dict[str, Any]:
        """Register a callback for changes of a board, list or card.

        The callback is ``url``, else the configured ``callback_url``.
        Trello checks it with a ``HEAD`` first. The callback URL is kept as
        sent, because deliveries are signed over it.

        Raises:
            ConfigError: no URL is given and no ``callback_url`` configured.
        """
        url = url or self.config.callback_url
        if not url:
            raise ConfigError(
                "Registering a Trello webhook needs callback_url in the settings.",
                key=f"connections.{self.context.connection}.settings.callback_url",
            )
        response = await self.client.post(
            "/webhooks/",
            params={
                "callbackURL": url,
                "idModel": id_model,
                "description": description,
            },
        )
        raise_for_status(response, "register a webhook")
        hook = self.client.json(response)
        self.context.state.put("webhook:callback_url", url)
        self.context.state.put(f"webhook:{hook['id']}", id_model)
        return dict(hook)

    def callback_url(self) -> str | None:
        """Return the callback URL deliveries are signed over."""
        return (
            self.context.state.get("webhook:callback_url") or self.config.callback_url
        )


def _batch_item(item: Any) -> tuple[int, Any]:
    if isinstance(item, dict) and "200" in item:
        return 200, item["200"]
    if isinstance(item, dict):
        return int(item.get("statusCode", 500)), item.get("message")
    raise malformed("a /batch answer is neither a result nor an error")
