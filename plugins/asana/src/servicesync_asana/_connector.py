"""The Asana connector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from servicesync.contract import (
    Action,
    Connector,
    ConnectorContext,
    Stream,
    WebhookHandler,
    WebhookRegistrar,
)
from servicesync.engine import DeliveryItem

from servicesync_asana._actions_lifecycle import (
    ArchiveProject,
    MarkProject,
    UnmarkProject,
)
from servicesync_asana._actions_project import AddTeam, CreateProject
from servicesync_asana._actions_sections import (
    CreateMilestone,
    CreateMilestones,
    Sections,
)
from servicesync_asana._actions_tasks import CreateTasks
from servicesync_asana._actions_update import UpdateMilestone, UpdateProject
from servicesync_asana._client import AsanaApi
from servicesync_asana._config import AsanaConfig
from servicesync_asana._delivery import delivery_item
from servicesync_asana._directory import Directory
from servicesync_asana._registrar import AsanaWebhookRegistrar
from servicesync_asana._stream_tasks import TasksStream, read_tasks
from servicesync_asana._streams import ProgressStream, ProjectsStream
from servicesync_asana._webhooks import AsanaWebhookHandler, Subscriptions

__all__ = ["AsanaConnector"]

# Seconds the list of projects in scope is reused before it is read again.
_SCOPE_TTL = 60.0


class AsanaConnector(Connector[AsanaConfig]):
    """Projects, sections, tasks and team in Asana; tasks and progress read back."""

    name = "asana"
    config_model = AsanaConfig
    secret_fields = frozenset(
        {"access_token", "client_secret", "refresh_token", "webhook_secret"}
    )

    def __init__(self, config: AsanaConfig, context: ConnectorContext) -> None:
        super().__init__(config, context)
        self.api = AsanaApi(config, context)
        self.directory = Directory(self.api, config.workspace)
        self.sections = Sections(self)
        self.webhooks = Subscriptions(self)
        self._scope: tuple[float, list[str]] | None = None

    def streams(self) -> Sequence[Stream]:
        return [ProjectsStream(self), TasksStream(self), ProgressStream(self)]

    def actions(self) -> Mapping[str, Action[Any]]:
        found: list[Action[Any]] = [
            CreateProject(self),
            CreateMilestone(self),
            CreateMilestones(self),
            CreateTasks(self),
            AddTeam(self),
            MarkProject(self),
            UnmarkProject(self),
            ArchiveProject(self),
            UpdateProject(self),
            UpdateMilestone(self),
        ]
        return {a.name: a for a in found}

    def delivery_item(
        self, stream: str, payload: Mapping[str, Any]
    ) -> DeliveryItem | None:
        """Read a project or a section's roll-up as a part of a deal's project.

        This makes the connector a :class:`~servicesync.engine.DeliveryView`,
        which two-way consistency reads progress through.
        """
        return delivery_item(stream, payload)

    def webhook_handler(self) -> WebhookHandler | None:
        return AsanaWebhookHandler(self)

    def webhook_registrar(self) -> WebhookRegistrar | None:
        """Return what subscribes the projects the streams read to the daemon."""
        return AsanaWebhookRegistrar(self)

    async def check(self) -> None:
        await self.api.read("/users/me", "tell who the connection acts as")

    def call_counts(self) -> Mapping[str, int]:
        """Return the running totals of this connection's calls."""
        total = self.api.http.stats.total()
        return {
            "calls": total.calls,
            "retries": total.retries,
            "slow_downs": total.slow_downs,
            "errors": total.errors,
        }

    async def aclose(self) -> None:
        await self.api.aclose()

    def projects_path(self) -> str:
        """The list of projects new ones are made in: the team's or the workspace's."""
        if self.config.team:
            return f"/teams/{self.config.team}/projects"
        return f"/workspaces/{self.config.workspace}/projects"

    def project_url(self, gid: str) -> str:
        """Return the address of a project in Asana's web app."""
        parts = urlsplit(self.config.base_url)
        return f"{parts.scheme}://{parts.netloc}/0/{gid}/list"

    def remember_project(self, gid: str) -> None:
        """Let the next stream run see a project just made."""
        if self._scope is not None and gid not in self._scope[1]:
            self._scope = None

    async def scope(self) -> list[str]:
        """Return the gids of the projects the streams read, in gid order.

        The configured ``projects``, or else every project of the team (or
        workspace) that is not archived, listed at most once a minute.
        """
        if self.config.projects:
            return sorted(set(self.config.projects), key=int)
        now = self.context.clock.monotonic()
        if self._scope is None or now - self._scope[0] > _SCOPE_TTL:
            gids = [
                str(row["gid"])
                async for row in self.api.walk(
                    self.projects_path(), "list projects", {"archived": "false"}
                )
            ]
            self._scope = (now, sorted(set(gids), key=int))
        return list(self._scope[1])

    async def read_tasks(self, gids: list[str]) -> dict[str, Any]:
        """Return each task's record by gid (``None`` once deleted), via ``/batch``."""
        return await read_tasks(self, gids)
