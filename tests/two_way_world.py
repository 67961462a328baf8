"""The two-way worlds of every delivery tool, seen through one interface.

Each won-deal world (Bitrix24's fake and a delivery tool's fake in process,
on the store's virtual clock) gets two-way consistency on, with the deal
fields that take the project's state, progress, next milestone and delivery
date. :class:`TwoWayWorld` then answers, whatever the tool, what the tests of
two-way consistency ask of it: win a deal until its project is read back,
count the writes each fake received, read the project's title, budget line
and milestone dates as the tool shows them, and change them as a person
would in the tool.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date
from typing import Any, ClassVar

import httpx
from servicesync.config import Config
from servicesync.engine import Engine
from servicesync.store import Store
from servicesync_asana import project_title as asana_title
from servicesync_jira._document import document_text
from servicesync_sdk.base import read_budget
from won_deal_worlds import AsanaWorld, JiraEpicWorld, JiraWorld, TrelloWorld

__all__ = [
    "DEAL_FIELDS",
    "SEARCH_SETTLES",
    "STATUS_WORDS",
    "TOOLS",
    "WRITE_VERBS",
    "AsanaTwoWay",
    "JiraEpicTwoWay",
    "JiraTwoWay",
    "TrelloTwoWay",
    "TwoWayWorld",
    "crm_writes",
    "two_way_world",
    "with_two_way",
]

#: The deal field of each synced field, as the portal's custom fields.
DEAL_FIELDS = {
    "title": "TITLE",
    "amount": "OPPORTUNITY",
    "status": "UF_CRM_DELIVERY_STATUS",
    "progress": "UF_CRM_DELIVERY_PROGRESS",
    "percent": "UF_CRM_DELIVERY_PERCENT",
    "milestone": "UF_CRM_DELIVERY_MILESTONE",
    "delivery_date": "UF_CRM_DELIVERY_DATE",
}
STATUS_WORDS = {"planned": "Planned", "active": "In progress", "done": "Delivered"}

#: The last part of a Bitrix24 method that changes data at the portal.
WRITE_VERBS = {"add", "update", "delete", "set", "bind", "unbind"}
#: Jira POSTs that only read.
JIRA_READS = {"/rest/api/3/search/jql", "/rest/api/3/issue/bulkfetch"}
#: Beyond the settling time of Jira's issue search (60 seconds by default).
SEARCH_SETTLES = 61
#: Seconds that let a change made in Trello fall inside the next read window.
TRELLO_SETTLES = 5

#: The delivery tools two-way consistency is tested with (Jira in both modes).
TOOLS = ("jira", "jira-epic", "asana", "trello")

AnyWorld = JiraWorld | JiraEpicWorld | AsanaWorld | TrelloWorld


def with_two_way(config: Config, **settings: Any) -> Config:
    """Return ``config`` with two-way on in every flow and the deal fields named."""
    update = {
        "two_way": True,
        "deal_fields": DEAL_FIELDS,
        "deal_values": {"status": STATUS_WORDS},
        **settings,
    }
    flows = {
        name: flow.model_copy(update=update) for name, flow in config.flows.items()
    }
    return config.model_copy(update={"flows": flows})


def crm_writes(world: AnyWorld) -> int:
    """Count the calls that changed data at the Bitrix24 portal."""
    return sum(
        count
        for method, count in world.crm.method_calls.items()
        if method.rsplit(".", 1)[-1] in WRITE_VERBS
    )


class TwoWayWorld(ABC):
    """A won-deal world with two-way on, the same to a test whatever the tool.

    Attributes:
        world: the tool's own won-deal world, with both fakes and the engine.
        tool: the delivery tool's name.
    """

    tool: ClassVar[str]
    #: Seconds a change made in the tool takes to show in what the streams read.
    settles: ClassVar[float] = 0.0

    def __init__(self, world: AnyWorld) -> None:
        self.world = world

    @property
    def store(self) -> Store:
        """The store the engine syncs into."""
        return self.world.store

    @property
    def engine(self) -> Engine:
        """The world's engine."""
        return self.world.engine

    async def aclose(self) -> None:
        """Close the engine."""
        await self.world.engine.aclose()

    async def call(self, method: str, body: dict[str, Any]) -> Any:
        """Call the Bitrix24 portal as its web app would."""
        return await self.world.call(method, body)

    async def deal(self, deal: str) -> dict[str, Any]:
        """Return the deal's fields at the portal."""
        found: dict[str, Any] = await self.call("crm.deal.get", {"id": deal})
        return found

    async def update_deal(self, deal: str, fields: dict[str, Any]) -> None:
        """Change the deal at the portal, as a salesperson would."""
        await self.call("crm.deal.update", {"id": deal, "fields": fields})

    def crm_writes(self) -> int:
        """Count the calls that changed data at the portal."""
        return crm_writes(self.world)

    async def sync(self) -> None:
        """Let the tool's reads catch up with what changed, then sync."""
        self.settle()
        await self.world.engine.sync()

    def settle(self) -> None:
        """Let as much time pass as the tool needs to show a change to reads."""
        self.store.clock.advance(self.settles)  # type: ignore[attr-defined]

    def budget(self) -> dict[str, str]:
        """Return the fields of the project's budget line, as the tool shows it."""
        return read_budget(self.project_text())

    @abstractmethod
    async def won_and_settled(self, title: str = "Northwind: data audit") -> str:
        """Win a deal, let its project be made and read back; return the deal."""

    @abstractmethod
    def delivery_writes(self) -> int:
        """Count the writes the tool's fake received, whatever their route."""

    @abstractmethod
    def title(self) -> str:
        """Return the project's title, as two-way consistency reads it."""

    @abstractmethod
    def project_text(self) -> str:
        """Return the text that holds the project's budget line."""

    @abstractmethod
    def milestone_dues(self) -> dict[str, date]:
        """Return each dated milestone's due date, as the tool shows it, by id."""

    @abstractmethod
    async def rename_project(self, name: str) -> None:
        """Rename the project in the tool, as a person would."""

    @abstractmethod
    async def finish_a_task(self) -> None:
        """Mark the project's first task done in the tool, as a person would."""

    @abstractmethod
    def task_count(self) -> int:
        """Return how many tasks the project has."""


class JiraTwoWay(TwoWayWorld):
    """A Jira project: a budget line in the description, versions as milestones."""

    tool = "jira"
    settles = SEARCH_SETTLES
    world: JiraWorld

    async def won_and_settled(self, title: str = "Northwind: data audit") -> str:
        deal = await self.world.add_deal(title)
        await self.engine.sync()
        await self.update_deal(deal, {"STAGE_ID": "EXECUTING"})
        await self.engine.sync()
        await self.sync()
        return deal

    def delivery_writes(self) -> int:
        return sum(
            1
            for entry in self.world.jira.log
            if entry.method in ("PUT", "DELETE")
            or (entry.method == "POST" and entry.route not in JIRA_READS)
        )

    def key(self) -> str:
        """Return the project's key."""
        [key] = self.world.jira.site.projects
        return key

    def title(self) -> str:
        project = self.world.jira.site.projects[self.key()]
        return str(project["name"]).removesuffix(f" ({self.key()})")

    def project_text(self) -> str:
        return str(self.world.jira.site.projects[self.key()]["description"])

    def milestone_dues(self) -> dict[str, date]:
        return {
            str(v["id"]): date.fromisoformat(v["releaseDate"])
            for v in self.world.jira.site.versions.values()
            if v.get("releaseDate")
        }

    async def rename_project(self, name: str) -> None:
        await self.call_jira(
            "PUT", f"/project/{self.key()}", {"name": f"{name} ({self.key()})"}
        )

    async def finish_a_task(self) -> None:
        issues = self.world.jira.issues.issues.values()
        first = min(issues, key=lambda issue: int(issue["id"]))
        self.world.jira.transition(first["key"], "Done")

    def task_count(self) -> int:
        return len(self.world.jira.issues.issues)

    async def call_jira(self, method: str, path: str, body: Any) -> Any:
        """Call Jira's REST API as the site's admin; return the JSON answer."""
        jira = self.world.jira
        token = jira.credentials()["token:admin@example.com"]
        auth = httpx.BasicAuth("admin@example.com", token)
        async with httpx.AsyncClient(
            transport=jira.transport(), base_url=jira.base_url, auth=auth
        ) as client:
            response = await client.request(method, f"/rest/api/3{path}", json=body)
            assert response.is_success, response.text
            return response.json() if response.content else None


class JiraEpicTwoWay(JiraTwoWay):
    """A Jira deal epic: a budget paragraph in its description, versions as milestones.

    Every deal's epic, versions and tasks share the project ``DEL``.
    """

    tool = "jira-epic"
    world: JiraEpicWorld

    def epic(self) -> dict[str, Any]:
        """Return the fake's record of the deal's epic (marked, unlike milestones)."""
        [epic] = [
            epic
            for epic in self.world.epics()
            if "servicesync:" in document_text(epic["fields"].get("description"))
        ]
        return epic

    def key(self) -> str:
        """Return the deal epic's key, the key the deal's project is linked by."""
        return str(self.epic()["key"])

    def title(self) -> str:
        return str(self.epic()["fields"]["summary"])

    def project_text(self) -> str:
        return document_text(self.epic()["fields"]["description"])

    async def rename_project(self, name: str) -> None:
        await self.call_jira(
            "PUT", f"/issue/{self.key()}", {"fields": {"summary": name}}
        )

    async def finish_a_task(self) -> None:
        first = min(self.tasks(), key=lambda issue: int(issue["id"]))
        self.world.jira.transition(first["key"], "Done")

    def task_count(self) -> int:
        return len(self.tasks())

    def tasks(self) -> list[dict[str, Any]]:
        """Return the issues of the deal that are no epics."""
        epics = {issue["key"] for issue in self.world.epics()}
        return [
            issue
            for issue in self.world.jira.issues.issues.values()
            if issue["key"] not in epics
        ]


class AsanaTwoWay(TwoWayWorld):
    """An Asana project: a budget line in its notes, sections as milestones."""

    tool = "asana"
    world: AsanaWorld

    async def won_and_settled(self, title: str = "Northwind: data audit") -> str:
        deal = await self.world.win(title)
        await self.engine.sync()
        await self.sync()
        return deal

    def delivery_writes(self) -> int:
        # Writes inside /batch calls are no requests of their own; each one
        # that changed something is an event in the fake's feed.
        asana = self.world.asana
        requests = sum(
            1
            for entry in asana.log
            if entry.method in ("PUT", "DELETE")
            or (entry.method == "POST" and not entry.route.endswith("/batch"))
        )
        return requests + len(asana.events.entries)

    def project(self) -> Any:
        """Return the fake's record of the project."""
        [project] = self.world.projects()
        return project

    def title(self) -> str:
        return asana_title(self.project().name)

    def project_text(self) -> str:
        return str(self.project().notes)

    def milestone_dues(self) -> dict[str, date]:
        space = self.world.asana.space
        dues: dict[str, date] = {}
        for gid in self.project().tasks:
            task = space.tasks[gid]
            for _, section in task.memberships:
                if task.due_on and section:
                    due = date.fromisoformat(task.due_on)
                    dues[section] = max(dues.get(section, due), due)
        return dues

    async def rename_project(self, name: str) -> None:
        await self._asana("PUT", f"/projects/{self.project().gid}", {"name": name})

    async def finish_a_task(self) -> None:
        await self.complete(min(self.project().tasks, key=int))

    async def complete(self, task: str) -> None:
        """Mark a task done through Asana's API, as the Asana app would."""
        await self._asana("PUT", f"/tasks/{task}", {"completed": True})

    def task_count(self) -> int:
        return len(self.project().tasks)

    async def _asana(self, method: str, path: str, data: dict[str, Any]) -> None:
        asana = self.world.asana
        token = asana.credentials()["token:admin@example.com"]
        async with httpx.AsyncClient(transport=asana.transport()) as client:
            response = await client.request(
                method,
                f"{asana.base_url}/api/1.0{path}",
                json={"data": data},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.is_success, response.text


class TrelloTwoWay(TwoWayWorld):
    """A Trello board: a budget line in its description, lists as milestones."""

    tool = "trello"
    settles = TRELLO_SETTLES
    world: TrelloWorld

    async def won_and_settled(self, title: str = "Northwind: data audit") -> str:
        deal = await self.world.win_deal(title)
        await self.engine.sync("crm")
        await self.sync()
        return deal

    def delivery_writes(self) -> int:
        return sum(
            1
            for entry in self.world.trello.log
            if entry.method in ("POST", "PUT", "DELETE")
        )

    def board(self) -> dict[str, Any]:
        """Return the fake's record of the deal's board."""
        [board] = self.world.deal_boards()
        return board

    def title(self) -> str:
        return str(self.board()["name"])

    def project_text(self) -> str:
        return str(self.board()["desc"])

    def milestone_dues(self) -> dict[str, date]:
        dues: dict[str, date] = {}
        for card in self.world.trello.state.cards_of(self.board()["id"], "open"):
            if card["due"]:
                due = date.fromisoformat(card["due"][:10])
                dues[card["idList"]] = max(dues.get(card["idList"], due), due)
        return dues

    async def rename_project(self, name: str) -> None:
        self.world.trello.state.update_board(
            self._member(), self.board()["id"], {"name": name}
        )

    async def finish_a_task(self) -> None:
        cards = self.world.trello.state.cards_of(self.board()["id"], "open")
        first = min(cards, key=lambda card: card["id"])
        self.world.trello.state.update_card(
            self._member(), first["id"], {"dueComplete": True}
        )

    def task_count(self) -> int:
        return len(self.world.trello.state.cards_of(self.board()["id"], "open"))

    def _member(self) -> str:
        trello = self.world.trello
        return str(trello.tokens[trello.connection_settings()["token"]][0])


_KINDS: dict[str, tuple[type[AnyWorld], type[TwoWayWorld]]] = {
    "jira": (JiraWorld, JiraTwoWay),
    "jira-epic": (JiraEpicWorld, JiraEpicTwoWay),
    "asana": (AsanaWorld, AsanaTwoWay),
    "trello": (TrelloWorld, TrelloTwoWay),
}


async def two_way_world(tool: str, store: Store, **settings: Any) -> TwoWayWorld:
    """Build ``tool``'s won-deal world with two-way on and the flow ``settings``."""
    world_type, view = _KINDS[tool]
    world = world_type(store)
    world.config = with_two_way(world.config, **settings)
    await world.engine.aclose()
    world.engine = world.new_engine()
    return view(world)
