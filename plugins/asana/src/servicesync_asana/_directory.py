"""The workspace's users by email, listed once per connection."""

from __future__ import annotations

from typing import TYPE_CHECKING

from servicesync_asana._client import fields

if TYPE_CHECKING:
    from servicesync_asana._client import AsanaApi

__all__ = ["Directory"]


class Directory:
    """Maps lowercased emails to user gids; one listing serves every look-up."""

    def __init__(self, api: AsanaApi, workspace: str) -> None:
        self._api = api
        self._workspace = workspace
        self._users: dict[str, str] | None = None

    async def by_email(self) -> dict[str, str]:
        """Return ``{email: gid}`` of the workspace's users."""
        if self._users is None:
            users: dict[str, str] = {}
            async for user in self._api.walk(
                "/users",
                "list the workspace's users",
                {"workspace": self._workspace, "opt_fields": fields(["email", "name"])},
            ):
                if user.get("email"):
                    users[str(user["email"]).lower()] = str(user["gid"])
            self._users = users
        return self._users
