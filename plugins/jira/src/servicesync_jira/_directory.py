"""Looking users up by email and project roles up by name, with caches."""

from __future__ import annotations

import logging

from servicesync.errors import MappingError
from servicesync_sdk.http import ServiceClient

from servicesync_jira._client import API

__all__ = ["Directory"]

logger = logging.getLogger(__name__)


class Directory:
    """Resolves emails to account ids and role names to ids, once each.

    An email that finds nobody, or only users who hide their address, is
    unresolved: Jira does not reveal hidden addresses, so such a person
    must be added by hand.
    """

    def __init__(self, client: ServiceClient) -> None:
        self._client = client
        self._accounts: dict[str, str | None] = {}
        self._roles: dict[str, str] = {}

    async def account_id(self, email: str) -> str | None:
        """Return the account id of the user with ``email``, or ``None``."""
        wanted = email.strip().lower()
        if wanted not in self._accounts:
            response = await self._client.get(
                f"{API}/user/search", params={"query": wanted}
            )
            users = self._client.json(response) if response.status_code == 200 else []
            match = next(
                (u for u in users if str(u.get("emailAddress", "")).lower() == wanted),
                None,
            )
            self._accounts[wanted] = match["accountId"] if match else None
            if match is None:
                logger.info("No Jira user shows the email address searched for.")
        return self._accounts[wanted]

    def known(self, email: str) -> str | None:
        """Return an account id already resolved, without asking Jira."""
        return self._accounts.get(email.strip().lower())

    async def role_id(self, project_key: str, role_name: str) -> str:
        """Return the id of the project role called ``role_name``.

        Role ids are the same in every project of a site, so one look-up
        serves every project.

        Raises:
            MappingError: the project has no such role.
        """
        if role_name not in self._roles:
            response = await self._client.get(f"{API}/project/{project_key}/role")
            roles = self._client.json(response) if response.status_code == 200 else {}
            for name, url in roles.items():
                self._roles[name] = str(url).rstrip("/").rsplit("/", 1)[-1]
        if role_name not in self._roles:
            msg = f"The Jira project {project_key!r} has no role called {role_name!r}."
            raise MappingError(msg, service="jira")
        return self._roles[role_name]
