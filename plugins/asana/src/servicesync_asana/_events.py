"""Asana's event feed: what changed in a resource since a sync token.

The first call for a resource, and any call with a token Asana no longer
knows (tokens last about a day), answers 412 with a fresh token and no
events: whatever changed before it must be read in full. A token serves up
to 100 events a call; ``has_more`` says more are waiting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from servicesync.errors import MalformedResponse

from servicesync_asana._client import AsanaApi

__all__ = ["EventFeed", "StaleToken", "changed_tasks"]

_MAX_CALLS = 1000


class StaleToken(Exception):
    """The sync token is missing or too old; a full read must fill the gap.

    Attributes:
        fresh: the new token Asana handed out with its refusal, if any.
    """

    def __init__(self, fresh: str | None) -> None:
        self.fresh = fresh
        super().__init__("The Asana sync token is missing or expired.")


class EventFeed:
    """Reads the events of one resource at a time."""

    def __init__(self, api: AsanaApi) -> None:
        self._api = api

    async def fresh_token(self, resource: str) -> str:
        """Return a token from which later changes to ``resource`` are listed."""
        try:
            async for _events, token in self.pages(resource, None):
                return token
        except StaleToken as stale:
            if stale.fresh:
                return stale.fresh
        msg = "Asana answered a request for a sync token without one."
        raise MalformedResponse(msg, service="asana", endpoint="GET /events")

    async def pages(
        self, resource: str, token: str | None
    ) -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
        """Yield ``(events, token after them)`` until no more are waiting.

        Raises:
            StaleToken: ``token`` is missing or no longer known.
        """
        for _ in range(_MAX_CALLS):
            params = {"resource": resource}
            if token:
                params["sync"] = token
            response = await self._api.http.get("/events", params=params)
            if response.status_code == 412:
                body = self._api.http.json(response)
                fresh = body.get("sync") if isinstance(body, dict) else None
                raise StaleToken(str(fresh) if fresh else None)
            events = self._api.data(response, "read the events of a project")
            body = self._api.http.json(response)
            token = body.get("sync")
            if not isinstance(events, list) or not token:
                msg = "Asana answered an events call without events or a sync token."
                raise MalformedResponse(msg, service="asana", endpoint="GET /events")
            yield events, str(token)
            if not body.get("has_more"):
                return
        msg = f"The events of {resource} kept coming after {_MAX_CALLS} calls."
        raise MalformedResponse(msg, service="asana", endpoint="GET /events")


def changed_tasks(events: list[dict[str, Any]]) -> tuple[list[str], set[str]]:
    """Return the tasks the events touched, in order, and those deleted.

    A change to something inside a task (a comment, an attachment) names the
    task as its parent; it counts as a change of that task.
    """
    touched: dict[str, None] = {}
    deleted: set[str] = set()
    for event in events:
        resource = event.get("resource") or {}
        parent = event.get("parent") or {}
        if resource.get("resource_type") == "task":
            gid = str(resource["gid"])
        elif parent.get("resource_type") == "task":
            gid = str(parent["gid"])
        else:
            continue
        touched[gid] = None
        if resource.get("gid") == gid and event.get("action") == "deleted":
            deleted.add(gid)
        elif event.get("action") == "undeleted":
            deleted.discard(gid)
    return list(touched), deleted
