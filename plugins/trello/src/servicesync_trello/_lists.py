"""The lists of the boards a connection laid out, by name."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from servicesync_trello._errors import raise_for_status

if TYPE_CHECKING:
    from servicesync_trello._connector import TrelloConnector

__all__ = ["BoardLists"]


class BoardLists:
    """Maps list names to ids per board, kept in the connection's state.

    The lists a connection makes are remembered as it makes them, so laying
    out cards needs no look-up; a board it did not make (or copied from a
    template) is read once.
    """

    def __init__(self, connector: TrelloConnector) -> None:
        self.connector = connector

    def known(self, board_id: str) -> dict[str, str]:
        """Return the lists remembered for ``board_id``, by name."""
        raw = self.connector.context.state.get(f"lists:{board_id}")
        return dict(json.loads(raw)) if raw else {}

    def remember(self, board_id: str, lists: dict[str, str]) -> None:
        """Add ``{name: id}`` entries to what is known of ``board_id``."""
        merged = {**self.known(board_id), **lists}
        self.connector.context.state.put(f"lists:{board_id}", json.dumps(merged))

    def renamed(self, board_id: str, list_id: str, name: str) -> None:
        """Remember the list ``list_id`` under its new ``name`` only."""
        known = {n: i for n, i in self.known(board_id).items() if i != list_id}
        known[name] = list_id
        self.connector.context.state.put(f"lists:{board_id}", json.dumps(known))

    async def fetch(self, board_id: str) -> dict[str, str]:
        """Read the board's open lists from Trello, remember and return them."""
        client = self.connector.client
        response = await client.get(
            f"/boards/{board_id}/lists", params={"filter": "open"}
        )
        raise_for_status(response, f"list the lists of the board {board_id!r}")
        found: dict[str, str] = {}
        for item in client.json(response):
            found.setdefault(str(item["name"]), str(item["id"]))
        self.connector.context.state.put(f"lists:{board_id}", json.dumps(found))
        self.connector.context.state.put(f"lists-read:{board_id}", "1")
        return found

    async def known_or_fetch(self, board_id: str) -> dict[str, str]:
        """Return the lists, reading them from Trello once per board."""
        if self.connector.context.state.get(f"lists-read:{board_id}"):
            return self.known(board_id)
        return await self.fetch(board_id)
