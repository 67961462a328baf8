"""The Trello connector passes the SDK's conformance suite against its fake."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import BaseModel
from servicesync import Clock
from servicesync.contract import Connector, ConnectorContext, WebhookRequest
from servicesync_sdk.fakes import FaultRule
from servicesync_sdk.testing import (
    ConformanceHarness,
    ConnectorConformance,
    PublishedLimit,
)
from servicesync_trello import (
    BATCH_SIZE,
    CreateProjectParams,
    TrelloConfig,
    TrelloConnector,
)
from servicesync_trello.fake import TrelloFake
from trello_helpers import CALLBACK, bot_id


class TrelloHarness(ConformanceHarness):
    """Cards on one board of the fake's Workspace, read by the cards stream."""

    stream = "cards"
    page_size = BATCH_SIZE
    action = "create_project"
    limit = PublishedLimit(rate=10.0, burst=100)

    def make_fake(self, clock: Clock, seed: int) -> TrelloFake:
        fake = TrelloFake(clock=clock, seed=seed)
        settings = fake.add_default_account()
        board = fake.state.create_board(
            bot_id(fake),
            {"name": "Delivery", "idOrganization": settings["organization"]},
        )
        fake.conformance_list = fake.state.lists_of(board["id"], "open")[0]["id"]  # type: ignore[attr-defined]
        return fake

    def make_connector(self, fake: Any, context: ConnectorContext) -> Connector[Any]:
        # One process runs the suite, so the in-process windows pace the
        # connector; a shared budget store would halve its rate (see README).
        context = dataclasses.replace(context, budgets=None)
        settings = {**fake.connection_settings(), "callback_url": CALLBACK}
        return TrelloConnector(TrelloConfig.model_validate(settings), context)

    async def insert(self, fake: Any, count: int) -> list[str]:
        made = [
            fake.state.create_card(
                bot_id(fake), {"name": f"Card {n}", "idList": fake.conformance_list}
            )
            for n in range(count)
        ]
        return [c["id"] for c in made]

    async def update(self, fake: Any, external_id: str) -> None:
        card = fake.state.cards[external_id]
        fake.state.update_card(
            bot_id(fake), external_id, {"dueComplete": not card["dueComplete"]}
        )

    def snapshot(self, fake: Any) -> Mapping[str, Mapping[str, Any]]:
        return dict(fake.state.cards)

    def action_params(self, fake: Any) -> BaseModel:
        return CreateProjectParams(name="Globex rollout", client="Globex")

    def count_objects(self, fake: Any, params: BaseModel) -> int:
        assert isinstance(params, CreateProjectParams)
        return sum(b["name"] == params.name for b in fake.state.boards.values())

    def lose_create_answer(self, fake: Any) -> FaultRule:
        return fake.faults.answer_lost(method="POST", path="/1/boards/")  # type: ignore[no-any-return]

    async def valid_webhook(
        self, fake: Any, connector: Connector[Any]
    ) -> WebhookRequest:
        received: list[httpx.Request] = []

        def receive(request: httpx.Request) -> httpx.Response:
            received.append(request)
            return httpx.Response(200)

        fake.add_receiver(CALLBACK, handler=receive)
        assert isinstance(connector, TrelloConnector)
        board = next(iter(fake.state.boards))
        await connector.register_webhook(board)
        card = (await self.insert(fake, 1))[0]
        await fake.webhooks.flush()
        request = received[-1]
        assert card in request.content.decode()
        return WebhookRequest(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            body=request.content,
        )


class TestTrelloConformance(ConnectorConformance):
    harness = TrelloHarness()
