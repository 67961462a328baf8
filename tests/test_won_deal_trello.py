"""A deal won in the Bitrix24 fake becomes one staffed Trello board, exactly once."""

from __future__ import annotations

from typing import Any

import pytest
from servicesync.contract import payload_hash
from servicesync.domain import Expert, Project, ProjectMember
from servicesync.store import Store
from sqlmodel import select
from won_deal_worlds import TrelloWorld

BOARDS = "/1/boards/"


@pytest.fixture
async def world(store: Store) -> Any:
    world = TrelloWorld(store)
    yield world
    await world.engine.aclose()


async def test_won_deal_makes_one_staffed_board_linked_to_the_deal(
    world: TrelloWorld,
) -> None:
    deal = await world.win_deal("Northwind: data audit")

    report = await world.engine.sync("crm")

    assert report.delivered == 1
    assert world.boards_made() == 1
    (board,) = world.deal_boards()
    with world.store.session() as session:
        project = session.exec(select(Project)).one()
        members = session.exec(select(ProjectMember)).all()
        emails = {session.get(Expert, m.expert_id).email for m in members}  # type: ignore[union-attr]
    on_board = {m["idMember"] for m in board["memberships"]}
    assert {world.trello.state.emails[e] for e in emails} <= on_board
    assert len(members) == len(project.team_explanation["members"]) >= 1
    cards = world.trello.state.cards_of(board["id"], "all")
    assert cards and all(c["due"] for c in cards)
    assert any(c["idMembers"] for c in cards)
    linked = await world.call("crm.deal.get", {"id": deal})
    assert linked["UF_CRM_SERVICESYNC_PROJECT"] == board["shortUrl"]


async def test_won_deal_run_again_creates_nothing_twice(world: TrelloWorld) -> None:
    deal = await world.win_deal("Contoso: data audit")
    await world.engine.sync("crm")
    with world.store.session() as session:
        deal_id = session.exec(select(Project)).one().deal_id
    writes = len(world.trello.log.filter(method="POST"))

    fresh = world.new_engine()
    await fresh.flows()[0].run(deal_id, deal)
    await fresh.aclose()

    assert world.boards_made() == 1
    assert len(world.trello.log.filter(method="POST")) == writes


async def test_won_deal_board_whose_answer_was_dropped_is_found_on_retry(
    world: TrelloWorld,
) -> None:
    lost = world.trello.faults.answer_lost(method="POST", path=BOARDS)
    # The look-up right after the lost answer fails too, so the flow fails
    # and the outbox tries again later, through the action journal.
    search = (
        f"/1/organizations/{world.trello.connection_settings()['organization']}/boards"
    )
    world.trello.faults.add("error", method="GET", path=search, status=503, times=6)
    await world.win_deal("Fabrikam: data audit")

    first = await world.engine.sync("crm")
    world.store.clock.advance(120)
    second = await world.engine.dispatch()

    assert lost.fired == 1
    assert first.delivered == 0
    assert second == 1
    assert world.trello.log.count(method="POST", route=BOARDS) == 1
    assert len(world.deal_boards()) == 1
    with world.store.session() as session:
        assert session.exec(select(Project)).one()


async def test_progress_changed_in_trello_is_read_within_one_sync(
    world: TrelloWorld,
) -> None:
    await world.win_deal("Litware: data audit")
    await world.engine.sync("crm")
    world.store.clock.advance(5)
    await world.engine.sync("delivery")
    (board,) = world.deal_boards()
    card = world.trello.state.cards_of(board["id"], "open")[0]
    world.store.clock.advance(5)
    bot = world.trello.tokens[world.trello.connection_settings()["token"]][0]
    world.trello.state.update_card(bot, card["id"], {"dueComplete": True})
    world.store.clock.advance(5)

    report = await world.engine.sync("delivery")

    assert report.streams["delivery.cards"].written == 1
    with world.store.transaction() as tx:
        stale = world.store.changed_records(
            tx,
            "delivery",
            "cards",
            [_record(world.trello.state.cards[card["id"]])],
        )
    assert stale == [], "the store holds the card as Trello has it now"


def _record(card: dict[str, Any]) -> Any:
    from servicesync.contract import Record

    return Record(card["id"], card, payload_hash(card))
