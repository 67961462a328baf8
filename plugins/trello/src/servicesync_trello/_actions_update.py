"""Actions that change a board after it was made: its budget line, its milestones.

Two-way consistency calls them when a won deal changes (its title, amount,
scope or dates). A board keeps no budget, so the amount, currency, scope
and client go into a line of the board's description, as in every tool
without a budget. A milestone is a list, which has no date of its own: it
is due when its last dated card is, so moving it moves the ``due`` of each
of its dated cards by as much as the last one must move.

Each action reads first and writes only what differs from what is asked, so
an attempt repeated after a crash, or a find after a lost answer, recognises
what an earlier attempt did.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from servicesync.contract import Action, ActionResult
from servicesync.errors import RecordError
from servicesync_sdk.base import (
    MilestoneMoves,
    UpdateMilestoneParams,
    UpdateProjectParams,
    budget_values,
    pending_moves,
    read_budget,
    send_moves,
    with_budget,
)

from servicesync_trello._errors import malformed, raise_for_status

if TYPE_CHECKING:
    from servicesync_trello._connector import TrelloConnector

__all__ = [
    "UpdateMilestone",
    "UpdateMilestoneParams",
    "UpdateProject",
    "UpdateProjectParams",
]

logger = logging.getLogger(__name__)

_BOARD_FIELDS = "name,desc,closed,url,shortUrl"


class UpdateProject(Action[UpdateProjectParams]):
    """Rename a board and set the budget line of its description.

    The board is read first and only what differs is written, with one
    ``PUT /boards/{id}``; the other lines of the description are kept.
    """

    name = "update_project"
    params_model = UpdateProjectParams

    def __init__(self, connector: TrelloConnector) -> None:
        self.connector = connector

    async def find(
        self, dedup_key: str, params: UpdateProjectParams
    ) -> ActionResult | None:
        board = await self._board(params.project_key)
        return None if _changes(board, params) else _board_result(board)

    async def execute(
        self, dedup_key: str, params: UpdateProjectParams
    ) -> ActionResult:
        board = await self._board(params.project_key)
        changes = _changes(board, params)
        if changes:
            client = self.connector.client
            response = await client.put(f"/boards/{params.project_key}", params=changes)
            raise_for_status(response, f"update the board {params.project_key!r}")
            board = client.json(response)
            logger.info(
                "Updated %s of the board %s", ", ".join(changes), params.project_key
            )
        return _board_result(board)

    async def _board(self, board_id: str) -> dict[str, Any]:
        board = await self.connector.get_json(
            f"/boards/{board_id}", {"fields": _BOARD_FIELDS}
        )
        if not isinstance(board, dict) or "id" not in board:
            raise malformed("a board came back without an id")
        return board


def _changes(board: dict[str, Any], params: UpdateProjectParams) -> dict[str, str]:
    """Return the fields that make ``board`` as asked; empty when it already is."""
    body: dict[str, str] = {}
    if params.title is not None and board.get("name") != params.title:
        body["name"] = params.title
    desc = str(board.get("desc") or "")
    budget = read_budget(desc)
    wanted = {**budget, **budget_values(params)}
    if wanted != budget:
        body["desc"] = with_budget(desc, wanted)
    return body


def _board_result(board: dict[str, Any]) -> ActionResult:
    url = board.get("shortUrl") or board.get("url")
    return ActionResult(
        external_id=str(board["id"]),
        url=str(url) if url else None,
        data={"id": str(board["id"]), "name": board.get("name"), "url": url},
    )


class UpdateMilestone(Action[UpdateMilestoneParams]):
    """Move a list's due date, or rename it.

    The list is due when its last dated card is. Moving it to ``due`` moves
    every dated card of the list by as much as that last one must move, one
    ``PUT /cards/{id}`` per card (Trello has no bulk update), each keeping
    its time of day; the plan is kept in the connection's state first, so a
    repeat finishes it instead of moving a card twice. A list with no dated
    card has no due date to move.

    A card Trello refuses (400, 404, 409) does not stop the others, but the
    cards that end the list wait until every other card moved; the refused
    cards are reported in :attr:`ActionResult.failed`, which leaves the
    write pending, so the next attempt sends what is left of the plan.
    """

    name = "update_milestone"
    params_model = UpdateMilestoneParams

    def __init__(self, connector: TrelloConnector) -> None:
        self.connector = connector
        self.moves = MilestoneMoves(connector.context.state, "lists")

    async def find(
        self, dedup_key: str, params: UpdateMilestoneParams
    ) -> ActionResult | None:
        found = await self._list(params)
        cards = await self._cards(params.milestone_id)
        if params.name is not None and found["name"] != params.name:
            return None
        if params.due is not None and not self._moved(dedup_key, params.due, cards):
            return None
        return _list_result(found, cards)

    async def execute(
        self, dedup_key: str, params: UpdateMilestoneParams
    ) -> ActionResult:
        found = await self._list(params)
        if params.name is not None and found["name"] != params.name:
            found = await self._rename(params, params.name)
        cards = await self._cards(params.milestone_id)
        refused: dict[str, str] = {}
        if params.due is not None:
            cards, refused = await self._move(dedup_key, params, params.due, cards)
        return _list_result(found, cards).model_copy(update={"failed": refused})

    def _moved(self, dedup_key: str, due: date, cards: dict[str, str | None]) -> bool:
        """Whether the list is due on ``due``, as planned for ``dedup_key``."""
        planned = self.moves.planned(dedup_key)
        if planned is None:
            return _latest(cards) == due
        return not pending_moves(_days(cards), planned)

    async def _move(
        self,
        dedup_key: str,
        params: UpdateMilestoneParams,
        due: date,
        cards: dict[str, str | None],
    ) -> tuple[dict[str, str | None], dict[str, str]]:
        """Make the moves still pending.

        Returns:
            The cards' ``due`` after the moves, and the cards Trello refused
            to move, with its reason.
        """
        days = _days(cards)
        planned = self.moves.planned(dedup_key)
        if planned is None:
            if _latest(cards) == due:
                return cards, {}
            dated = {card: day for card, day in days.items() if day is not None}
            if not dated:
                msg = (
                    f"The list {params.milestone_id!r} has no card with a due "
                    "date, so it has no due date to move; give one of its cards "
                    "a due date first."
                )
                raise RecordError(msg, service="trello")
            planned = self.moves.plan(dedup_key, dated, due)
        moved = dict(cards)

        async def send(moves: list[tuple[str, date]]) -> dict[str, str]:
            [(card, day)] = moves
            try:
                moved[card] = await self._send(card, _on_day(cards[card], day))
            except RecordError as exc:
                return {card: str(exc)}
            return {}

        refused = await send_moves(pending_moves(days, planned), planned, send)
        if moved != cards:
            logger.info(
                "Moved the cards of the list %s to end on %s", params.milestone_id, due
            )
        if refused:
            logger.warning(
                "Trello refused to move %d cards of the list %s; the next "
                "attempt moves what is left",
                len(refused), params.milestone_id,
            )  # fmt: skip
        return moved, refused

    async def _send(self, card: str, due: str) -> str | None:
        client = self.connector.client
        response = await client.put(f"/cards/{card}", params={"due": due})
        raise_for_status(response, f"move the card {card!r}")
        changed = client.json(response)
        return changed.get("due") if isinstance(changed, dict) else due

    async def _list(self, params: UpdateMilestoneParams) -> dict[str, Any]:
        """Return the list, after making sure it is one of the board's open lists.

        Raises:
            RecordError: the board has no such open list.
        """
        client = self.connector.client
        board = params.project_key
        response = await client.get(f"/boards/{board}/lists", params={"filter": "open"})
        raise_for_status(response, f"list the lists of the board {board!r}")
        for item in client.json(response):
            if str(item.get("id")) == params.milestone_id:
                return dict(item)
        msg = f"The board {board!r} has no open list {params.milestone_id!r}."
        raise RecordError(msg, service="trello")

    async def _cards(self, list_id: str) -> dict[str, str | None]:
        """Return the ``due`` of each open card of the list, by id."""
        client = self.connector.client
        response = await client.get(f"/lists/{list_id}/cards")
        raise_for_status(response, f"list the cards of the list {list_id!r}")
        cards = client.json(response)
        if not isinstance(cards, list):
            raise malformed("a list's cards are not a list")
        return {str(c["id"]): c.get("due") for c in cards if not c.get("closed")}

    async def _rename(self, params: UpdateMilestoneParams, name: str) -> dict[str, Any]:
        client = self.connector.client
        list_id = params.milestone_id
        response = await client.put(f"/lists/{list_id}", params={"name": name})
        raise_for_status(response, f"rename the list {list_id!r}")
        self.connector.lists.renamed(params.project_key, list_id, name)
        logger.info("Renamed the list %s to %r", list_id, name)
        return dict(client.json(response))


def _day(due: str | None) -> date | None:
    """Return the day of a card's ``due``, as two-way consistency reads it."""
    return date.fromisoformat(due[:10]) if due else None


def _days(cards: dict[str, str | None]) -> dict[str, date | None]:
    return {card: _day(due) for card, due in cards.items()}


def _latest(cards: dict[str, str | None]) -> date | None:
    return max((d for d in _days(cards).values() if d is not None), default=None)


def _on_day(due: str | None, day: date) -> str:
    """Return ``due`` moved to ``day``, keeping its time of day when it has one.

    Example:
        >>> _on_day("2026-03-01T17:00:00.000Z", date(2026, 3, 8))
        '2026-03-08T17:00:00.000Z'
    """
    return day.isoformat() + (due[10:] if due else "")


def _list_result(found: dict[str, Any], cards: dict[str, str | None]) -> ActionResult:
    latest = _latest(cards)
    data = {
        "kind": "list",
        "name": found.get("name"),
        "due": latest.isoformat() if latest else None,
    }
    return ActionResult(external_id=str(found["id"]), data=data)
