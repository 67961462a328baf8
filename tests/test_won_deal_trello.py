"""A deal won in the Bitrix24 fake becomes one staffed Trello board, exactly once."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
from servicesync.catalog import import_catalog, load_catalog_file
from servicesync.config import parse_config
from servicesync.contract import payload_hash
from servicesync.domain import Expert, Project, ProjectMember
from servicesync.engine import Engine
from servicesync.plugins import load_plugins
from servicesync.store import Store
from servicesync_bitrix24.fake import factory as bitrix24_fake
from servicesync_trello.fake import TrelloFake
from servicesync_trello.fake import factory as trello_fake
from sqlmodel import select

#: Where the Trello connection registers webhooks; the fake delivers there.
CALLBACK = "https://hooks.example.test/trello?connection=delivery"

CONFIG = """
[connections.crm]
plugin = "bitrix24"
[connections.crm.settings]
portal_url = "{crm_url}"
webhook_url = "{webhook_url}"
[connections.crm.mapping.fields]
UF_CRM_SERVICE = "service"
[connections.crm.mapping.values.stage]
NEW = "acquaintance"
EXECUTING = "contract_signed"

[connections.delivery]
plugin = "trello"
[connections.delivery.settings]
base_url = "{base_url}"
api_key = "{api_key}"
token = "{token}"
app_secret = "{app_secret}"
organization = "{organization}"
callback_url = "{callback}"

[flows.won_deal]
type = "won_deal"
source = "crm"
target = "delivery"
"""

BOARDS = "/1/boards/"


class World:
    """The Bitrix24 and Trello fakes in process, a config for both, an engine."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.crm = bitrix24_fake(clock=store.clock, seed=1)
        self.trello: TrelloFake = trello_fake(clock=store.clock, seed=2)
        self.webhook_url = self.crm.credentials()["webhook_url"]
        text = CONFIG.format(
            crm_url=self.crm.base_url,
            webhook_url=self.webhook_url,
            callback=CALLBACK,
            **self.trello.connection_settings(),
        )
        self.config = parse_config(text)
        sample = Path(str(files("servicesync").joinpath("samples/catalog.yaml")))
        import_catalog(store, load_catalog_file(sample))
        with store.session() as session:
            for expert in session.exec(select(Expert)):
                username = expert.email.split("@")[0].replace(".", "")
                self.trello.add_member(username, expert.name, expert.email)
        self.engine = self.new_engine()

    def new_engine(self) -> Engine:
        transports = {"crm": self.crm.transport(), "delivery": self.trello.transport()}
        return Engine(self.config, self.store, load_plugins(), transports=transports)

    async def call(self, method: str, body: dict[str, Any]) -> Any:
        async with httpx.AsyncClient(transport=self.crm.transport()) as client:
            response = await client.post(f"{self.webhook_url}{method}.json", json=body)
            response.raise_for_status()
            return response.json()["result"]

    async def win_deal(self, title: str) -> str:
        fields = {
            "TITLE": title,
            "STAGE_ID": "NEW",
            "OPPORTUNITY": "48000",
            "CURRENCY_ID": "EUR",
            "UF_CRM_SERVICE": "data-audit",
        }
        deal = str(await self.call("crm.deal.add", {"fields": fields}))
        await self.engine.sync("crm")
        await self.call(
            "crm.deal.update", {"id": deal, "fields": {"STAGE_ID": "EXECUTING"}}
        )
        return deal

    def boards_made(self) -> int:
        return self.trello.log.count(method="POST", route=BOARDS, status=200)

    def deal_boards(self) -> list[dict[str, Any]]:
        return [
            b for b in self.trello.state.boards.values() if "[servicesync:" in b["desc"]
        ]


@pytest.fixture
async def world(store: Store) -> Any:
    world = World(store)
    yield world
    await world.engine.aclose()


async def test_won_deal_makes_one_staffed_board_linked_to_the_deal(
    world: World,
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


async def test_won_deal_run_again_creates_nothing_twice(world: World) -> None:
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
    world: World,
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
    world: World,
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
