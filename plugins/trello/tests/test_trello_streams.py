"""Boards, lists and cards read back, and progress per milestone list."""

from __future__ import annotations

from datetime import timedelta

from servicesync import VirtualClock
from servicesync.contract import Record, StreamState
from servicesync_sdk.testing import Recorder
from servicesync_trello import (
    BoardsStream,
    CardsStream,
    ListsStream,
    TrelloConnector,
    card_status,
    milestone_progress,
)
from servicesync_trello.fake import TrelloFake
from trello_helpers import ConnectorFactory, bot_id


def board_with_cards(fake: TrelloFake, count: int) -> tuple[str, list[str]]:
    settings = fake.connection_settings()
    board = fake.state.create_board(
        bot_id(fake), {"name": "Delivery", "idOrganization": settings["organization"]}
    )
    todo = fake.state.lists_of(board["id"], "open")[0]["id"]
    cards = [
        fake.state.create_card(bot_id(fake), {"name": f"C{n}", "idList": todo})["id"]
        for n in range(count)
    ]
    return board["id"], cards


async def read_all(connector: TrelloConnector, name: str) -> list[Record]:
    stream = next(s for s in connector.streams() if s.name == name)
    records: list[Record] = []
    async for page in stream.read(StreamState()):
        records += page.records
    return records


async def test_cards_stream_reads_only_cards_changed_since_last_run(
    fake: TrelloFake, clock: VirtualClock, connector: TrelloConnector
) -> None:
    _board, cards = board_with_cards(fake, 25)
    # Past the window's overlap, so the cards' creation is not read again.
    clock.advance(3600)
    recorder = Recorder()
    await recorder.run(CardsStream(connector))
    for card in cards[:3]:
        fake.state.update_card(bot_id(fake), card, {"dueComplete": True})
    clock.advance(1)
    mark = len(fake.log)

    second = await recorder.run(CardsStream(connector))

    assert {r.external_id for r in second.read} == set(cards[:3])
    assert all(r.payload["dueComplete"] for r in second.read)
    # The Workspace's boards, the actions of the window, one /batch of cards.
    assert len(fake.log) - mark == 3


async def test_cards_stream_first_run_reads_ten_cards_per_batch_call(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    _board, cards = board_with_cards(fake, 25)

    records = await read_all(connector, "cards")

    assert sorted(r.external_id for r in records) == sorted(cards)
    assert fake.log.count(route="/1/batch") == 1 + 3


async def test_cards_stream_reports_a_deleted_card(
    fake: TrelloFake, clock: VirtualClock, connector: TrelloConnector
) -> None:
    _board, cards = board_with_cards(fake, 2)
    clock.advance(3600)
    recorder = Recorder()
    await recorder.run(CardsStream(connector))
    fake.state.delete_card(bot_id(fake), cards[0])
    clock.advance(1)

    second = await recorder.run(CardsStream(connector))

    assert [(r.external_id, r.deleted) for r in second.read] == [(cards[0], True)]


async def test_boards_stream_reads_only_the_configured_boards(
    fake: TrelloFake, make: ConnectorFactory
) -> None:
    wanted, _ = board_with_cards(fake, 1)
    board_with_cards(fake, 1)

    records = await read_all(make(board_ids=[wanted]), "boards")

    assert [r.external_id for r in records] == [wanted]


async def test_progress_counts_done_cards_per_milestone_list(
    fake: TrelloFake, clock: VirtualClock, connector: TrelloConnector
) -> None:
    board, cards = board_with_cards(fake, 6)
    lists = {x["name"]: x["id"] for x in fake.state.lists_of(board, "open")}
    bot = bot_id(fake)
    fake.state.update_card(bot, cards[0], {"dueComplete": True})
    fake.state.update_card(bot, cards[1], {"idList": lists["Done"]})
    fake.state.update_card(bot, cards[2], {"closed": True})
    fake.state.update_card(bot, cards[3], {"due": "2026-01-01"})
    member = fake.add_member("ana", "Ana", "ana@acme.test")
    fake.state.add_board_member(bot, board, member, "normal")
    fake.state.update_card(bot, cards[4], {"idMembers": [member]})

    names = {
        r.external_id: r.payload["name"] for r in await read_all(connector, "lists")
    }
    progress = milestone_progress(
        [r.payload for r in await read_all(connector, "cards")],
        names,
        now=clock.now() + timedelta(days=1),
    )

    todo, done = progress[lists["To Do"]], progress[lists["Done"]]
    assert (todo.done, todo.total, todo.overdue) == (1, 4, 1)
    assert todo.members == {member}
    assert (done.done, done.total) == (1, 1)
    assert card_status(fake.state.cards[cards[2]], names) == "archived"


async def test_lists_stream_reads_closed_lists_too(
    fake: TrelloFake, connector: TrelloConnector
) -> None:
    board, _ = board_with_cards(fake, 0)
    closed = fake.state.create_list(bot_id(fake), {"name": "Old", "idBoard": board})
    closed["closed"] = True

    records = await read_all(connector, "lists")

    assert len(records) == 4
    assert closed["id"] in {r.external_id for r in records}
    assert [s.name for s in connector.streams()] == [
        BoardsStream.name,
        ListsStream.name,
        CardsStream.name,
    ]
