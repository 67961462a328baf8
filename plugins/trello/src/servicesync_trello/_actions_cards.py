"""Creating a board's cards: one request per card, none twice."""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from servicesync.contract import Action, ActionResult
from servicesync.dedup import dedup_token, find_token, marker
from servicesync.errors import RetryableError
from servicesync_sdk.base import CreatedItems

from servicesync_trello._errors import error_text, malformed, raise_for_status
from servicesync_trello._ids import is_id

if TYPE_CHECKING:
    from servicesync_trello._connector import TrelloConnector

__all__ = ["CreateTasks", "CreateTasksParams", "TaskSpec"]

logger = logging.getLogger(__name__)

#: The list cards without a known milestone go to on a board with no list.
FALLBACK_LIST = "Tasks"


class TaskSpec(BaseModel):
    """One task: ``ref`` is unique within its action and names it for dedup.

    ``milestone`` is a list's id or its name on the board.
    """

    ref: str
    summary: str
    description: str | None = None
    milestone: str | None = None
    assignee_email: str | None = None
    due: date | None = None


class CreateTasksParams(BaseModel):
    """The tasks to create on one board."""

    project_key: str
    tasks: list[TaskSpec]


class CreateTasks(Action[CreateTasksParams]):
    """Create a card per task, in its milestone's list, with due date and member.

    Trello has no bulk create, so each card is one request. Each card's
    description ends with the marker of its own key (the action's key and
    the task's ``ref``); what was made is kept in the connection's state,
    so a repeat sends only the rest. A card whose answer was lost is looked
    for among the board's cards (one listing serves every lost card of a
    run) before it is sent again. An assignee is put on the board by email
    first, which also lets ``add_team`` skip them later.
    """

    name = "create_tasks"
    params_model = CreateTasksParams

    def __init__(self, connector: TrelloConnector) -> None:
        self.connector = connector
        self.created = CreatedItems(connector.context.state, "cards")

    async def find(
        self, dedup_key: str, params: CreateTasksParams
    ) -> ActionResult | None:
        known = self.created.get(dedup_key)
        if any(t.ref not in known for t in params.tasks):
            on_board = await self._marked_cards(params.project_key)
            for task in params.tasks:
                card_id = on_board.get(self._token(dedup_key, task))
                if card_id is not None:
                    known[task.ref] = card_id
            self.created.put(dedup_key, known)
        if all(t.ref in known for t in params.tasks):
            return self._result(params.project_key, known, {})
        return None

    async def execute(self, dedup_key: str, params: CreateTasksParams) -> ActionResult:
        board = params.project_key
        known = self.created.get(dedup_key)
        failed: dict[str, str] = {}
        pending = [t for t in params.tasks if t.ref not in known]
        lists = await self._lists_for(board, pending)
        lost: list[tuple[TaskSpec, dict[str, Any]]] = []
        for task in pending:
            body = await self._card(dedup_key, board, task, lists)
            try:
                await self._send(dedup_key, task, body, known, failed)
            except RetryableError:
                lost.append((task, body))
        if lost:
            await self._recover(dedup_key, board, lost, known, failed)
        return self._result(board, known, failed)

    async def _send(
        self,
        dedup_key: str,
        task: TaskSpec,
        body: dict[str, Any],
        known: dict[str, str],
        failed: dict[str, str],
    ) -> None:
        """Create one card, noting it in ``known`` or its refusal in ``failed``."""
        try:
            card = await self._post(body)
        except _Refused as exc:
            failed[task.ref] = str(exc)
            return
        known[task.ref] = str(card["id"])
        self.created.put(dedup_key, known)

    async def _recover(
        self,
        dedup_key: str,
        board: str,
        lost: list[tuple[TaskSpec, dict[str, Any]]],
        known: dict[str, str],
        failed: dict[str, str],
    ) -> None:
        """Find the cards whose answers were lost; send the missing ones again.

        One listing of the board serves every lost card. A card lost twice
        raises, so that a later attempt reconciles it instead of the action
        reporting it failed for good.
        """
        logger.warning("%d card answers were lost; reconciling.", len(lost))
        listing = await self._marked_cards(board)
        for task, body in lost:
            found = listing.get(self._token(dedup_key, task))
            if found is not None:
                known[task.ref] = found
                self.created.put(dedup_key, known)
            else:
                await self._send(dedup_key, task, body, known, failed)

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        client = self.connector.client
        response = await client.post("/cards", json=body)
        if response.status_code in (400, 404):
            raise _Refused(f"HTTP {response.status_code}: {error_text(response)}")
        raise_for_status(response, f"create the card {body['name']!r}")
        card = client.json(response)
        if not isinstance(card, dict) or "id" not in card:
            raise malformed("a new card came back without an id")
        return card

    async def _card(
        self, dedup_key: str, board: str, task: TaskSpec, lists: dict[str, str]
    ) -> dict[str, Any]:
        token = self._token(dedup_key, task)
        body: dict[str, Any] = {
            "name": task.summary,
            "desc": f"{task.description or ''}\n\n{marker(token)}".strip(),
            "idList": _list_of(task, lists),
            "pos": "bottom",
        }
        if task.due:
            body["due"] = task.due.isoformat()
        if task.assignee_email:
            member = await self.connector.members.ensure(board, task.assignee_email)
            if member is not None:
                body["idMembers"] = [member]
        return body

    async def _lists_for(self, board: str, tasks: list[TaskSpec]) -> dict[str, str]:
        """Return the board's lists by name and id, reading them only if needed."""
        lists = self.connector.lists.known(board)
        wanted = {t.milestone for t in tasks}
        if not tasks or all(w and (w in lists or is_id(w)) for w in wanted):
            return {**lists, **{v: v for v in lists.values()}}
        lists = await self.connector.lists.known_or_fetch(board)
        if not lists:
            lists = await self._fallback_list(board)
        return {
            **lists,
            "": next(iter(lists.values())),
            **{v: v for v in lists.values()},
        }

    async def _fallback_list(self, board: str) -> dict[str, str]:
        client = self.connector.client
        response = await client.post(
            "/lists", params={"name": FALLBACK_LIST, "idBoard": board, "pos": "bottom"}
        )
        raise_for_status(response, f"create the list {FALLBACK_LIST!r}")
        made = {FALLBACK_LIST: str(client.json(response)["id"])}
        self.connector.lists.remember(board, made)
        return made

    async def _marked_cards(self, board: str) -> dict[str, str]:
        """Return ``{token: card id}`` for every marked card of the board."""
        client = self.connector.client
        response = await client.get(f"/boards/{board}/cards/all")
        raise_for_status(response, f"list the cards of the board {board!r}")
        found: dict[str, str] = {}
        for card in client.json(response):
            token = find_token(card.get("desc"))
            if token:
                found.setdefault(token, str(card["id"]))
        return found

    @staticmethod
    def _token(dedup_key: str, task: TaskSpec) -> str:
        return dedup_token(f"{dedup_key}/{task.ref}")

    @staticmethod
    def _result(
        board: str, known: dict[str, str], failed: dict[str, str]
    ) -> ActionResult:
        return ActionResult(
            external_id=board, data={"created": dict(known)}, failed=failed
        )


class _Refused(Exception):
    """Trello refused one card; the others go on."""


def _list_of(task: TaskSpec, lists: dict[str, str]) -> str:
    wanted = task.milestone or ""
    if wanted in lists:
        return lists[wanted]
    if is_id(wanted):
        return wanted
    return lists.get("") or next(iter(lists.values()))
