"""Reading boards, lists and cards back from Trello.

Cards are read incrementally: a window of time is opened from Trello's own
clock (the ``Date`` of its answers), the boards' actions within the window
name the cards that changed, and those cards are read ten at a time with
``/batch``. The first run, with no window behind it, names every card of
every board instead. Cards are read in id order and each page is read just
before it is handed on, so a run stopped half way resumes after the last
card it handed on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from servicesync.contract import Page, Record, Stream, StreamState, payload_hash

from servicesync_trello._errors import malformed

if TYPE_CHECKING:
    from servicesync_trello._connector import TrelloConnector

__all__ = [
    "ACTIONS_PAGE",
    "BATCH_SIZE",
    "BoardsStream",
    "CardsStream",
    "ListsStream",
    "trello_date",
]

#: GET routes one ``/batch`` call carries at most.
BATCH_SIZE = 10
#: Actions asked for per request; Trello's largest page.
ACTIONS_PAGE = 1000
#: How far before the saved cursor a window starts, for late-recorded changes.
OVERLAP = timedelta(minutes=1)
_MAX_ACTION_PAGES = 100


def trello_date(moment: datetime) -> str:
    """Return ``moment`` as the ``since``/``before`` filters take it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class BoardsStream(Stream):
    """The boards the connection reads (its Workspace's open boards)."""

    name = "boards"
    record_type = "project"
    incremental = False

    def __init__(self, connector: TrelloConnector) -> None:
        self.connector = connector

    async def read(self, state: StreamState) -> AsyncIterator[Page]:
        boards = await self.connector.boards()
        yield Page([Record.of(b["id"], b) for b in boards], state)


class ListsStream(Stream):
    """Every list of the boards read, ten boards per ``/batch`` call."""

    name = "lists"
    record_type = "milestone"
    incremental = False

    def __init__(self, connector: TrelloConnector) -> None:
        self.connector = connector

    async def read(self, state: StreamState) -> AsyncIterator[Page]:
        boards = [b["id"] for b in await self.connector.boards()]
        for start in range(0, len(boards), BATCH_SIZE):
            chunk = boards[start : start + BATCH_SIZE]
            urls = [f"/boards/{b}/lists?filter=all" for b in chunk]
            records = []
            for status, body in await self.connector.batch_get(urls):
                if status != 200 or not isinstance(body, list):
                    raise malformed(f"a board's lists could not be read ({status})")
                records += [Record.of(item["id"], item) for item in body]
            yield Page(records, state)


class CardsStream(Stream):
    """Cards changed within the window, read ten per ``/batch`` call."""

    name = "cards"
    record_type = "task"

    def __init__(self, connector: TrelloConnector) -> None:
        self.connector = connector

    async def read(self, state: StreamState) -> AsyncIterator[Page]:
        boards = [b["id"] for b in await self.connector.boards()]
        if not state.in_window:
            end = self.connector.service_time()
            start = state.cursor - OVERLAP if state.cursor is not None else None
            state = state.open_window(start, end)
        if state.window_start is None:
            ids = await self._every_card(boards)
        else:
            assert state.window_end is not None
            ids = await self._changed_cards(
                boards, state.window_start, state.window_end
            )
        after = state.resume_after
        pending = sorted(i for i in ids if after is None or i > after)
        if not pending:
            yield Page([], state.complete_window())
            return
        for first in range(0, len(pending), BATCH_SIZE):
            chunk = pending[first : first + BATCH_SIZE]
            records = await self._read_cards(chunk)
            done = first + BATCH_SIZE >= len(pending)
            yield Page(
                records, state.complete_window() if done else state.resume_at(chunk[-1])
            )

    async def _every_card(self, boards: Sequence[str]) -> set[str]:
        ids: set[str] = set()
        for start in range(0, len(boards), BATCH_SIZE):
            urls = [
                f"/boards/{b}/cards/all" for b in boards[start : start + BATCH_SIZE]
            ]
            for status, body in await self.connector.batch_get(urls):
                if status != 200 or not isinstance(body, list):
                    raise malformed(f"a board's cards could not be listed ({status})")
                ids.update(str(card["id"]) for card in body)
        return ids

    async def _changed_cards(
        self, boards: Sequence[str], since: datetime, before: datetime
    ) -> set[str]:
        window = f"since={trello_date(since)}&before={trello_date(before)}"
        ids: set[str] = set()
        for start in range(0, len(boards), BATCH_SIZE):
            chunk = boards[start : start + BATCH_SIZE]
            urls = [
                f"/boards/{b}/actions?{window}&limit={ACTIONS_PAGE}&memberCreator=false"
                for b in chunk
            ]
            answers = await self.connector.batch_get(urls)
            for board, (status, body) in zip(chunk, answers, strict=True):
                if status != 200 or not isinstance(body, list):
                    raise malformed(f"a board's actions could not be read ({status})")
                ids |= _cards_named(body)
                if len(body) == ACTIONS_PAGE:
                    ids |= await self._older_actions(board, since, body[-1]["id"])
        return ids

    async def _older_actions(
        self, board: str, since: datetime, oldest: str
    ) -> set[str]:
        """Page back through a board's actions past a full first page."""
        ids: set[str] = set()
        for _ in range(_MAX_ACTION_PAGES):
            body = await self.connector.get_json(
                f"/boards/{board}/actions",
                {
                    "since": trello_date(since),
                    "before": oldest,
                    "limit": ACTIONS_PAGE,
                    "memberCreator": "false",
                },
            )
            if not isinstance(body, list):
                raise malformed("a board's actions are not a list")
            ids |= _cards_named(body)
            if len(body) < ACTIONS_PAGE:
                break
            oldest = body[-1]["id"]
        return ids

    async def _read_cards(self, ids: Sequence[str]) -> list[Record]:
        answers = await self.connector.batch_get([f"/cards/{i}" for i in ids])
        records = []
        for card_id, (status, body) in zip(ids, answers, strict=True):
            if status == 200 and isinstance(body, dict):
                records.append(Record.of(body["id"], body))
            elif status == 404:
                gone = {"id": card_id}
                records.append(Record(card_id, gone, payload_hash(gone), deleted=True))
            else:
                raise malformed(f"the card {card_id!r} could not be read ({status})")
        return records


def _cards_named(actions: list[dict[str, Any]]) -> set[str]:
    found = set()
    for action in actions:
        card = (action.get("data") or {}).get("card")
        if isinstance(card, dict) and card.get("id"):
            found.add(str(card["id"]))
    return found
