"""Putting people on a board by email or username, and knowing their ids.

Trello adds a person to a board by email in one call, but its answer names
members, not emails. The membership that call creates is the one not seen
before (memberships are known per board in the connection's state), so the
email's member id is learnt from the same answer. A person who already was
on the board makes no new membership; a member search finds them then.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from servicesync_trello._errors import malformed, raise_for_status

if TYPE_CHECKING:
    from servicesync_trello._connector import TrelloConnector

__all__ = ["BoardMembers"]

logger = logging.getLogger(__name__)


class BoardMembers:
    """The people a connection put on each board, by email or username."""

    def __init__(self, connector: TrelloConnector) -> None:
        self.connector = connector

    def known(self, board_id: str) -> dict[str, str]:
        """Return ``{email or username: member id}`` added to ``board_id``."""
        raw = self.connector.context.state.get(f"members:{board_id}")
        return dict(json.loads(raw)) if raw else {}

    async def ensure(self, board_id: str, person: str) -> str | None:
        """Put ``person`` (an email or a username) on the board; return the id.

        Returns ``None`` when Trello knows nobody by that username.
        """
        wanted = person.strip().lower()
        known = self.known(board_id)
        if wanted in known:
            return known[wanted]
        if "@" in wanted:
            member_id = await self._invite(board_id, wanted)
        else:
            member_id = await self._add_username(board_id, wanted)
        if member_id is not None:
            known[wanted] = member_id
            self.connector.context.state.put(f"members:{board_id}", json.dumps(known))
        return member_id

    async def _invite(self, board_id: str, email: str) -> str | None:
        client = self.connector.client
        response = await client.put(
            f"/boards/{board_id}/members",
            params={"email": email, "type": self.connector.config.member_type},
        )
        raise_for_status(response, f"add a member to the board {board_id!r}")
        body = client.json(response)
        fresh = self._new_memberships(board_id, body)
        if fresh:
            return str(max(fresh, key=lambda m: str(m["id"]))["idMember"])
        return await self._search(board_id, email)

    async def _add_username(self, board_id: str, username: str) -> str | None:
        client = self.connector.client
        found = await client.get(f"/members/{username}", params={"fields": "id"})
        if found.status_code == 404:
            logger.info("No Trello member has the username asked for.")
            return None
        raise_for_status(found, "look a member up by username")
        member_id = str(client.json(found)["id"])
        response = await client.put(
            f"/boards/{board_id}/members/{member_id}",
            params={"type": self.connector.config.member_type},
        )
        raise_for_status(response, f"add a member to the board {board_id!r}")
        self._new_memberships(board_id, client.json(response))
        return member_id

    async def _search(self, board_id: str, email: str) -> str | None:
        client = self.connector.client
        response = await client.get(
            "/search/members/", params={"query": email, "idBoard": board_id}
        )
        raise_for_status(response, "search members")
        found = client.json(response)
        if isinstance(found, list) and len(found) == 1:
            return str(found[0]["id"])
        logger.info("The email added to a board matches no single member.")
        return None

    def _new_memberships(self, board_id: str, body: Any) -> list[dict[str, Any]]:
        """Return the memberships not seen before, remembering them all."""
        if not isinstance(body, dict) or not isinstance(body.get("memberships"), list):
            raise malformed("a board member change gave no memberships")
        key = f"memberships:{board_id}"
        state = self.connector.context.state
        raw = state.get(key)
        memberships = body["memberships"]
        if raw is not None:
            seen = set(json.loads(raw))
        else:
            # The first change this connection makes to a board: only the
            # creator's membership (known when this connection made the
            # board) predates it; failing that, the newest one is the new one.
            creator = state.get(f"creator:{board_id}")
            seen = {str(m["id"]) for m in memberships if m["idMember"] == creator}
            if creator is None and memberships:
                newest = max(memberships, key=lambda m: str(m["id"]))
                seen = {str(m["id"]) for m in memberships} - {str(newest["id"])}
        fresh = [m for m in memberships if str(m["id"]) not in seen]
        all_ids = sorted(seen | {str(m["id"]) for m in memberships})
        state.put(key, json.dumps(all_ids))
        return fresh
