"""Two-way consistency with Trello: a board's progress reaches the deal.

Trello keeps no budget and no dates servicesync moves, so only the delivery
side flows here: the board's state, its cards done versus total, its next
list (milestone), and a comment when a list's cards are all done.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from servicesync.store import Store
from test_won_deal_trello import World

DEAL_FIELDS = {
    "status": "UF_CRM_DELIVERY_STATUS",
    "progress": "UF_CRM_DELIVERY_PROGRESS",
    "milestone": "UF_CRM_DELIVERY_MILESTONE",
}
WRITE_VERBS = {"add", "update", "delete", "set", "bind", "unbind"}


@pytest.fixture
async def world(store: Store) -> AsyncIterator[World]:
    made = World(store)
    flows = {
        name: flow.model_copy(update={"two_way": True, "deal_fields": DEAL_FIELDS})
        for name, flow in made.config.flows.items()
    }
    made.config = made.config.model_copy(update={"flows": flows})
    await made.engine.aclose()
    made.engine = made.new_engine()
    yield made
    await made.engine.aclose()


async def won_and_read(world: World) -> tuple[str, dict[str, Any]]:
    """Win a deal, make its board, read it back; return the deal and board."""
    deal = await world.win_deal("Litware: data audit")
    await world.engine.sync("crm")
    world.store.clock.advance(5)  # type: ignore[attr-defined]
    await world.engine.sync()
    (board,) = world.deal_boards()
    return deal, board


def crm_writes(world: World) -> int:
    return sum(
        count
        for method, count in world.crm.method_calls.items()
        if method.rsplit(".", 1)[-1] in WRITE_VERBS
    )


async def test_two_way_trello_card_done_shows_on_the_deal(world: World) -> None:
    deal, board = await won_and_read(world)
    cards = world.trello.state.cards_of(board["id"], "open")
    before = await world.call("crm.deal.get", {"id": deal})
    bot = world.trello.tokens[world.trello.connection_settings()["token"]][0]
    world.trello.state.update_card(bot, cards[0]["id"], {"dueComplete": True})
    world.store.clock.advance(5)  # type: ignore[attr-defined]

    await world.engine.sync()

    after = await world.call("crm.deal.get", {"id": deal})
    assert before["UF_CRM_DELIVERY_PROGRESS"] == f"0/{len(cards)}"
    assert before["UF_CRM_DELIVERY_STATUS"] == "planned"
    assert after["UF_CRM_DELIVERY_PROGRESS"] == f"1/{len(cards)}"
    assert after["UF_CRM_DELIVERY_STATUS"] == "active"


async def test_two_way_trello_after_a_write_back_two_syncs_write_nothing(
    world: World,
) -> None:
    await won_and_read(world)
    crm_before = crm_writes(world)
    trello_before = len(world.trello.log.filter(method="PUT"))

    world.store.clock.advance(5)  # type: ignore[attr-defined]
    await world.engine.sync()
    world.store.clock.advance(5)  # type: ignore[attr-defined]
    await world.engine.sync()

    assert crm_writes(world) == crm_before
    assert len(world.trello.log.filter(method="PUT")) == trello_before
