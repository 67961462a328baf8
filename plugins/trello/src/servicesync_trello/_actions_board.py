"""Actions that lay out a board: the board itself, its lists, its people."""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from servicesync.contract import Action, ActionResult
from servicesync.dedup import dedup_token, find_token, marker
from servicesync.errors import RetryableError

from servicesync_trello._errors import malformed, raise_for_status

if TYPE_CHECKING:
    from servicesync_trello._connector import TrelloConnector

__all__ = [
    "AddTeam",
    "AddTeamParams",
    "CreateMilestone",
    "CreateMilestoneParams",
    "CreateProject",
    "CreateProjectParams",
]

logger = logging.getLogger(__name__)


class CreateProjectParams(BaseModel):
    """What a deal's board is made from."""

    name: str
    client: str = ""
    description: str = ""


class CreateProject(Action[CreateProjectParams]):
    """Create the deal's board in the Workspace, without Trello's default lists.

    When the config names a template board, the new board copies its lists
    (and its cards if ``template_keeps_cards``). The description ends with
    the deduplication marker; a board whose creation answer was lost is
    found by listing the Workspace's boards, never the member's (the
    ``/members`` routes allow far fewer requests).
    """

    name = "create_project"
    params_model = CreateProjectParams

    def __init__(self, connector: TrelloConnector) -> None:
        self.connector = connector

    async def find(
        self, dedup_key: str, params: CreateProjectParams
    ) -> ActionResult | None:
        return await self._find(dedup_token(dedup_key))

    async def execute(
        self, dedup_key: str, params: CreateProjectParams
    ) -> ActionResult:
        token = dedup_token(dedup_key)
        try:
            board = await self._create(token, params)
        except RetryableError:
            # Trello may have made the board and lost the answer: look once.
            found = await self._find_quietly(token)
            if found is None:
                raise
            logger.info("A board whose creation answer was lost was found.")
            return found
        return self._result(board)

    async def _create(self, token: str, params: CreateProjectParams) -> dict[str, Any]:
        config = self.connector.config
        query: dict[str, str] = {
            "name": params.name,
            "desc": f"{params.description}\n\n{marker(token)}".strip(),
            "idOrganization": config.organization,
            "defaultLists": "false",
            "prefs_permissionLevel": "org",
        }
        if config.template_board_id:
            query["idBoardSource"] = config.template_board_id
            query["keepFromSource"] = "cards" if config.template_keeps_cards else "none"
        client = self.connector.client
        response = await client.post("/boards/", params=query)
        raise_for_status(response, f"create the board {params.name!r}")
        board = client.json(response)
        if not isinstance(board, dict) or "id" not in board:
            raise malformed("a new board came back without an id")
        if board.get("idMemberCreator"):
            self.connector.context.state.put(
                f"creator:{board['id']}", str(board["idMemberCreator"])
            )
        return board

    async def _find(self, token: str) -> ActionResult | None:
        for board in await self.connector.boards(all_open=True):
            if find_token(board.get("desc")) == token:
                return self._result(board)
        return None

    async def _find_quietly(self, token: str) -> ActionResult | None:
        try:
            return await self._find(token)
        except RetryableError:
            return None

    @staticmethod
    def _result(board: dict[str, Any]) -> ActionResult:
        url = board.get("shortUrl") or board.get("url")
        return ActionResult(
            external_id=str(board["id"]),
            url=str(url) if url else None,
            data={"id": str(board["id"]), "name": board.get("name"), "url": url},
        )


class CreateMilestoneParams(BaseModel):
    """One milestone of a board; Trello lists carry no dates of their own."""

    project_key: str
    name: str
    due: date | None = None
    start: date | None = None


class CreateMilestone(Action[CreateMilestoneParams]):
    """Make a list for the milestone, or adopt the template's list of that name.

    A board has only the lists servicesync made or the template gave it, so
    a list is found by its name on the board.
    """

    name = "create_milestone"
    params_model = CreateMilestoneParams

    def __init__(self, connector: TrelloConnector) -> None:
        self.connector = connector

    async def find(
        self, dedup_key: str, params: CreateMilestoneParams
    ) -> ActionResult | None:
        lists = await self.connector.lists.fetch(params.project_key)
        list_id = lists.get(params.name)
        return self._result(list_id, params) if list_id else None

    async def execute(
        self, dedup_key: str, params: CreateMilestoneParams
    ) -> ActionResult:
        board = params.project_key
        if self.connector.config.template_board_id:
            # A copied board may already have this milestone's list.
            lists = await self.connector.lists.known_or_fetch(board)
            if params.name in lists:
                return self._result(lists[params.name], params)
        client = self.connector.client
        query = {"name": params.name, "idBoard": board, "pos": "bottom"}
        try:
            response = await client.post("/lists", params=query)
        except RetryableError:
            found = await self.find(dedup_key, params)
            if found is None:
                raise
            return found
        raise_for_status(response, f"create the list {params.name!r}")
        made = client.json(response)
        self.connector.lists.remember(board, {params.name: str(made["id"])})
        return self._result(str(made["id"]), params)

    @staticmethod
    def _result(list_id: str, params: CreateMilestoneParams) -> ActionResult:
        due = params.due.isoformat() if params.due else None
        return ActionResult(
            external_id=list_id, data={"kind": "list", "name": params.name, "due": due}
        )


class AddTeamParams(BaseModel):
    """The people to put on a board, by email or by Trello username."""

    project_key: str
    emails: list[str] = []
    usernames: list[str] = []


class AddTeam(Action[AddTeamParams]):
    """Put each person on the board once; report who Trello does not know.

    Adding someone already on the board changes nothing, so a repeat is
    harmless; people the task cards already brought onto the board cost no
    further request.
    """

    name = "add_team"
    params_model = AddTeamParams

    def __init__(self, connector: TrelloConnector) -> None:
        self.connector = connector

    async def find(self, dedup_key: str, params: AddTeamParams) -> ActionResult | None:
        board = params.project_key
        known = self.connector.members.known(board)
        people = _people(params)
        if any(p not in known for p in people):
            return None
        client = self.connector.client
        response = await client.get(f"/boards/{board}/members")
        raise_for_status(response, f"list the members of the board {board!r}")
        present = {str(m.get("id")) for m in client.json(response)}
        if not {known[p] for p in people} <= present:
            return None
        return self._result(board, {p: known[p] for p in people}, [])

    async def execute(self, dedup_key: str, params: AddTeamParams) -> ActionResult:
        added: dict[str, str] = {}
        unresolved: list[str] = []
        for person in _people(params):
            member_id = await self.connector.members.ensure(params.project_key, person)
            if member_id is None:
                unresolved.append(person)
            else:
                added[person] = member_id
        return self._result(params.project_key, added, unresolved)

    @staticmethod
    def _result(
        board: str, added: dict[str, str], unresolved: list[str]
    ) -> ActionResult:
        return ActionResult(
            external_id=board, data={"members": added, "unresolved": unresolved}
        )


def _people(params: AddTeamParams) -> list[str]:
    wanted = [e.strip().lower() for e in params.emails + params.usernames]
    return list(dict.fromkeys(w for w in wanted if w))
