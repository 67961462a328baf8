"""Two-way consistency with Trello: a board's progress reaches the deal.

Progress is summed up from the board's cards (done when their due date is
marked complete, or in a done list): the deal shows the state, the cards
done versus total and the next list (milestone). The deal's commercial
changes carried to the board, and conflicts, are tested for every tool in
``test_two_way_tools.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from servicesync.store import Store
from two_way_world import TrelloTwoWay, two_way_world


@pytest.fixture
async def trello(store: Store) -> AsyncIterator[TrelloTwoWay]:
    made = await two_way_world("trello", store)
    assert isinstance(made, TrelloTwoWay)
    yield made
    await made.aclose()


async def test_two_way_trello_card_done_shows_on_the_deal(
    trello: TrelloTwoWay,
) -> None:
    deal = await trello.won_and_settled("Litware: data audit")
    cards = trello.task_count()
    before = await trello.deal(deal)

    await trello.finish_a_task()
    await trello.sync()

    after = await trello.deal(deal)
    assert before["UF_CRM_DELIVERY_PROGRESS"] == f"0/{cards}"
    assert before["UF_CRM_DELIVERY_STATUS"] == "Planned"
    assert after["UF_CRM_DELIVERY_PROGRESS"] == f"1/{cards}"
    assert after["UF_CRM_DELIVERY_STATUS"] == "In progress"
    latest = max(trello.milestone_dues().values()).isoformat()
    assert (
        after["UF_CRM_DELIVERY_MILESTONE"] == f"Findings report: 0/3 done, due {latest}"
    )
