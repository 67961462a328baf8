"""The won-deal flow's test worlds: the Bitrix24 fake beside one delivery tool's.

Every world holds both fakes in process on the store's virtual clock, the
sample catalog (its experts made users of the delivery tool), a config that
points at both fakes, and an engine. What differs between Jira, Asana and
Trello is the delivery connection's settings and how a person becomes a user
of the tool; the CRM half, the flow and the calls to the portal are shared.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
from servicesync.catalog import import_catalog, load_catalog_file
from servicesync.config import parse_config
from servicesync.domain import Expert
from servicesync.engine import Engine
from servicesync.plugins import load_plugins
from servicesync.store import Store
from servicesync_asana.fake import AsanaFake, FakeProject
from servicesync_asana.fake import factory as asana_fake
from servicesync_bitrix24.fake import factory as bitrix24_fake
from servicesync_jira.fake import factory as jira_fake
from servicesync_sdk.fakes import FakeService
from servicesync_trello.fake import TrelloFake
from servicesync_trello.fake import factory as trello_fake
from sqlmodel import select

__all__ = [
    "TRELLO_CALLBACK",
    "AsanaWorld",
    "JiraEpicWorld",
    "JiraWorld",
    "TrelloWorld",
    "WonDealWorld",
]

SAMPLE_CATALOG = Path(str(files("servicesync").joinpath("samples/catalog.yaml")))

#: The CRM connection and the flow; the delivery connection follows.
CRM_AND_FLOW = """
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

[flows.won_deal]
type = "won_deal"
source = "crm"
target = "delivery"
"""

#: Where the Trello connection registers webhooks; the fake delivers there.
TRELLO_CALLBACK = "https://hooks.example.test/trello?connection=delivery"


class WonDealWorld:
    """The Bitrix24 fake, one delivery fake, a config for both, and an engine.

    Args:
        store: the store, whose clock the fakes run on.
        delivery: the delivery tool's fake.
        delivery_settings: the ``[connections.delivery]`` table of the config.
    """

    def __init__(
        self, store: Store, delivery: FakeService, delivery_settings: str
    ) -> None:
        self.store = store
        self.crm = bitrix24_fake(clock=store.clock, seed=1)
        self.delivery_fake = delivery
        self.webhook_url = self.crm.credentials()["webhook_url"]
        crm = CRM_AND_FLOW.format(
            crm_url=self.crm.base_url, webhook_url=self.webhook_url
        )
        #: The config as a file would hold it.
        self.config_text = crm + delivery_settings
        self.config = parse_config(self.config_text)
        import_catalog(store, load_catalog_file(SAMPLE_CATALOG))
        with store.session() as session:
            for expert in session.exec(select(Expert)):
                self.add_expert(expert)
        self.engine = self.new_engine()

    def add_expert(self, expert: Expert) -> None:
        """Make ``expert`` a user of the delivery tool."""
        raise NotImplementedError

    def new_engine(self) -> Engine:
        transports = {
            "crm": self.crm.transport(),
            "delivery": self.delivery_fake.transport(),
        }
        return Engine(self.config, self.store, load_plugins(), transports=transports)

    async def call(self, method: str, body: dict[str, Any]) -> Any:
        """Call a method of the portal's REST API; return its ``result``."""
        async with httpx.AsyncClient(transport=self.crm.transport()) as client:
            response = await client.post(f"{self.webhook_url}{method}.json", json=body)
            response.raise_for_status()
            return response.json()["result"]

    async def add_deal(self, title: str, stage: str = "NEW") -> str:
        """Add a data-audit deal of 48,000 EUR; return its id."""
        fields = {
            "TITLE": title,
            "STAGE_ID": stage,
            "OPPORTUNITY": "48000",
            "CURRENCY_ID": "EUR",
            "UF_CRM_SERVICE": "data-audit",
        }
        return str(await self.call("crm.deal.add", {"fields": fields}))

    async def win(self, title: str, *, connection: str | None = None) -> str:
        """Add a deal, sync it, then move it to the won stage; return its id.

        ``connection`` limits that first sync to one connection.
        """
        deal = await self.add_deal(title)
        await self.engine.sync(connection)
        await self.call(
            "crm.deal.update", {"id": deal, "fields": {"STAGE_ID": "EXECUTING"}}
        )
        return deal


class JiraWorld(WonDealWorld):
    """The won-deal world with Jira as the delivery tool."""

    def __init__(self, store: Store, settings: str = "") -> None:
        self.jira = jira_fake(clock=store.clock, seed=2)
        table = f"""
[connections.delivery]
plugin = "jira"
[connections.delivery.settings]
site_url = "{self.jira.base_url}"
email = "admin@example.com"
api_token = "{self.jira.credentials()["token:admin@example.com"]}"
"""
        super().__init__(store, self.jira, table + settings)

    def add_expert(self, expert: Expert) -> None:
        self.jira.add_user(expert.email, expert.name)

    def projects_in_jira(self) -> int:
        return self.jira.log.count(
            method="POST", route="/rest/api/3/project", status=201
        )


class JiraEpicWorld(JiraWorld):
    """The Jira world in epic mode: each deal an epic of the project ``DEL``."""

    shared = "DEL"

    def __init__(self, store: Store, milestones_as: str = "versions") -> None:
        super().__init__(
            store,
            f'mode = "epic"\nshared_project_key = "{self.shared}"\n'
            f'milestones_as = "{milestones_as}"\n',
        )
        lead = next(iter(self.jira.site.users))
        self.jira.site.create_project(
            {"key": self.shared, "name": "Delivery", "leadAccountId": lead}
        )

    def epics(self) -> list[dict[str, Any]]:
        """Return the Epic issues of the site."""
        return [
            issue
            for issue in self.jira.issues.issues.values()
            if issue["fields"]["issuetype"]["name"] == "Epic"
        ]


class AsanaWorld(WonDealWorld):
    """The won-deal world with Asana as the delivery tool."""

    def __init__(self, store: Store) -> None:
        self.asana: AsanaFake = asana_fake(clock=store.clock, seed=2)
        settings = f"""
[connections.delivery]
plugin = "asana"
[connections.delivery.settings]
workspace = "{self.asana.space.gid}"
team = "{self.asana.space.team}"
access_token = "{self.asana.credentials()["token:admin@example.com"]}"
"""
        super().__init__(store, self.asana, settings)

    def add_expert(self, expert: Expert) -> None:
        self.asana.add_user(expert.email, expert.name)

    def projects(self) -> list[FakeProject]:
        return list(self.asana.space.projects.values())

    def emails(self, project: FakeProject) -> set[str]:
        return {self.asana.space.users[m].email for m in project.members}


class TrelloWorld(WonDealWorld):
    """The won-deal world with Trello as the delivery tool."""

    def __init__(self, store: Store) -> None:
        self.trello: TrelloFake = trello_fake(clock=store.clock, seed=2)
        lines = "\n".join(
            f'{name} = "{value}"'
            for name, value in {
                **self.trello.connection_settings(),
                "callback_url": TRELLO_CALLBACK,
            }.items()
        )
        settings = f"""
[connections.delivery]
plugin = "trello"
[connections.delivery.settings]
{lines}
"""
        super().__init__(store, self.trello, settings)

    def add_expert(self, expert: Expert) -> None:
        username = expert.email.split("@")[0].replace(".", "")
        self.trello.add_member(username, expert.name, expert.email)

    async def win_deal(self, title: str) -> str:
        """Win a deal after a first sync of the CRM alone; return its id."""
        return await self.win(title, connection="crm")

    def boards_made(self) -> int:
        return self.trello.log.count(method="POST", route="/1/boards/", status=200)

    def deal_boards(self) -> list[dict[str, Any]]:
        return [
            b for b in self.trello.state.boards.values() if "[servicesync:" in b["desc"]
        ]
