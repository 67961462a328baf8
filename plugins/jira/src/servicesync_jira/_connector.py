"""The Jira Cloud connector."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from servicesync.contract import (
    Action,
    ActionResult,
    Connector,
    ConnectorContext,
    Stream,
    WebhookHandler,
    WebhookRegistrar,
)
from servicesync.engine import DeliveryItem

from servicesync_jira._actions_lifecycle import (
    ArchiveProject,
    MarkProject,
    UnmarkProject,
)
from servicesync_jira._actions_project import AddTeam, CreateMilestone, CreateProject
from servicesync_jira._actions_tasks import CreateTasks
from servicesync_jira._actions_update import UpdateMilestone, UpdateProject
from servicesync_jira._client import API, build_client
from servicesync_jira._config import JiraConfig
from servicesync_jira._delivery import MilestoneOwners, delivery_item
from servicesync_jira._directory import Directory
from servicesync_jira._errors import raise_for_status
from servicesync_jira._projects import project_result, read_project
from servicesync_jira._registrar import JiraWebhookRegistrar
from servicesync_jira._streams import IssuesStream, ProjectsStream, VersionsStream
from servicesync_jira._webhooks import JiraWebhookHandler

__all__ = ["JiraConnector"]

_MAX_SEARCH_PAGES = 1000


class JiraConnector(Connector[JiraConfig]):
    """Projects, milestones, tasks and team in Jira Cloud; issues read back."""

    name = "jira"
    config_model = JiraConfig
    secret_fields = frozenset(
        {"api_token", "access_token", "client_secret", "webhook_secret"}
    )

    def __init__(self, config: JiraConfig, context: ConnectorContext) -> None:
        super().__init__(config, context)
        self.client = build_client(config, context)
        self.directory = Directory(self.client)
        self.tasks = CreateTasks(self)
        self.milestone_owners = MilestoneOwners(context.state)

    def streams(self) -> Sequence[Stream]:
        return [ProjectsStream(self), VersionsStream(self), IssuesStream(self)]

    def actions(self) -> Mapping[str, Action[Any]]:
        found: list[Action[Any]] = [
            CreateProject(self),
            CreateMilestone(self),
            self.tasks,
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
        """Read a project, version or issue as a part of a deal's project.

        This makes the connector a :class:`~servicesync.engine.DeliveryView`,
        which two-way consistency reads progress and budgets through.
        """
        return delivery_item(self.config, stream, payload, self.milestone_owners.of)

    async def get_project(self, project_id: str) -> ActionResult | None:
        """Return the project with this key or id as the actions name it, if any.

        The result's ``external_id`` is the project's key, as ``create_project``
        reports it, whichever of key or id was asked for.
        """
        project = await read_project(self, project_id)
        return None if project is None else project_result(self, project)

    def webhook_handler(self) -> WebhookHandler | None:
        return JiraWebhookHandler(self)

    def webhook_registrar(self) -> WebhookRegistrar | None:
        """Dynamic webhooks for an OAuth app; admin-webhook steps otherwise."""
        return JiraWebhookRegistrar(self)

    async def check(self) -> None:
        response = await self.client.get(f"{API}/myself")
        raise_for_status(response, "tell who the connection acts as")

    def call_counts(self) -> Mapping[str, int]:
        """Calls, retries, slow-downs and errors of this connection so far."""
        return self.client.stats.counts()

    async def aclose(self) -> None:
        await self.client.aclose()

    async def search_pages(
        self, jql: str, fields: list[str], page_size: int = 100
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield pages of ``POST /search/jql``, following ``nextPageToken``."""
        token: str | None = None
        for _ in range(_MAX_SEARCH_PAGES):
            body: dict[str, Any] = {
                "jql": jql,
                "fields": fields,
                "maxResults": page_size,
            }
            if token:
                body["nextPageToken"] = token
            response = await self.client.post(
                f"{API}/search/jql", json=body, idempotent=True
            )
            raise_for_status(response, "search issues")
            data = self.client.json(response)
            yield list(data.get("issues", []))
            token = data.get("nextPageToken")
            if data.get("isLast", True) or not token:
                return

    async def search(
        self, jql: str, fields: list[str]
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield every issue ``jql`` finds."""
        async for page in self.search_pages(jql, fields):
            for issue in page:
                yield issue

    def key_floor(self, project_key: str) -> int | None:
        """Return the issue number below which nothing of ours is missing, if known."""
        raw = self.context.state.get(f"keyfloor:{project_key}")
        return int(raw) if raw is not None else None

    def remember_key_floor(self, project_key: str, number: int) -> None:
        """Raise the known floor of ``project_key``'s issue numbers to ``number``."""
        current = self.key_floor(project_key)
        if current is None or number > current:
            self.context.state.put(f"keyfloor:{project_key}", str(number))
