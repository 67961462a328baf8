"""Actions that change a project after it was made: its budget line, its milestones.

Two-way consistency calls them when a won deal changes (its title, amount,
scope or dates). Each reads the project or version first and writes only what
differs from what is asked, so an attempt repeated after a crash, or a find
after a lost answer, recognises what an earlier attempt did.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from servicesync.contract import ActionResult
from servicesync.errors import FatalError, RecordError
from servicesync_sdk.base import (
    UpdateMilestoneParams,
    UpdateProjectParams,
    budget_values,
    read_budget,
    with_budget,
)

from servicesync_jira._actions_lifecycle import _ProjectAction
from servicesync_jira._client import API
from servicesync_jira._errors import raise_for_status
from servicesync_jira._projects import project_result

if TYPE_CHECKING:
    from servicesync_jira._connector import JiraConnector

__all__ = [
    "UpdateMilestone",
    "UpdateMilestoneParams",
    "UpdateProject",
    "UpdateProjectParams",
    "project_title",
]

logger = logging.getLogger(__name__)


class UpdateProject(_ProjectAction):
    """Rename a project and set its budget line, writing only what differs.

    The name keeps Jira's key suffix, as ``create_project`` made it
    (``"Northwind: data audit (NOR)"``); the amount, currency, scope (in
    hours) and client go into the description's budget line.
    """

    name = "update_project"
    params_model = UpdateProjectParams

    async def find(
        self, dedup_key: str, params: UpdateProjectParams
    ) -> ActionResult | None:
        project = await self._project(params.project_key)
        if _changes(project, params):
            return None
        return project_result(self.connector, project)

    async def execute(
        self, dedup_key: str, params: UpdateProjectParams
    ) -> ActionResult:
        project = await self._project(params.project_key)
        changes = _changes(project, params)
        if changes:
            key = str(project["key"])
            response = await self.connector.client.put(
                f"{API}/project/{key}", json=changes
            )
            raise_for_status(response, f"update the project {key!r}")
            project = self.connector.client.json(response)
            logger.info("Updated %s of the project %s", ", ".join(changes), key)
        return project_result(self.connector, project)

    async def _project(self, key: str) -> dict[str, Any]:
        if self.connector.config.mode == "epic":
            # TODO: an epic per deal keeps no budget line yet; its description
            # is a document, not text, so it needs its own reader and writer.
            msg = "update_project is not supported yet in epic mode."
            raise FatalError(msg, service="jira")
        return await self.project(key)


def _changes(project: dict[str, Any], params: UpdateProjectParams) -> dict[str, str]:
    """Return the body that makes ``project`` as asked; empty when it already is."""
    key = str(project["key"])
    body: dict[str, str] = {}
    if params.title is not None:
        name = f"{params.title} ({key})"
        if project.get("name") != name:
            body["name"] = name
    description = str(project.get("description") or "")
    budget = read_budget(description)
    wanted = {**budget, **budget_values(params)}
    if wanted != budget:
        body["description"] = with_budget(description, wanted)
    return body


def project_title(name: str, key: str) -> str:
    """Return the title servicesync gave a project, without the key suffix.

    Example:
        >>> project_title("Northwind: data audit (NOR)", "NOR")
        'Northwind: data audit'
    """
    suffix = f" ({key})"
    return name[: -len(suffix)] if name.endswith(suffix) else name


class UpdateMilestone(_ProjectAction):
    """Move a milestone's due date or rename it: a version's release date."""

    name = "update_milestone"
    params_model = UpdateMilestoneParams

    async def find(
        self, dedup_key: str, params: UpdateMilestoneParams
    ) -> ActionResult | None:
        version = await self._version(params)
        if _version_changes(version, params):
            return None
        return _milestone_result(version)

    async def execute(
        self, dedup_key: str, params: UpdateMilestoneParams
    ) -> ActionResult:
        version = await self._version(params)
        changes = _version_changes(version, params)
        if changes:
            client = self.connector.client
            response = await client.put(
                f"{API}/version/{params.milestone_id}", json=changes
            )
            raise_for_status(response, f"update the version {params.milestone_id!r}")
            version = client.json(response)
            logger.info(
                "Updated %s of the version %s", ", ".join(changes), params.milestone_id
            )
        return _milestone_result(version)

    async def _version(self, params: UpdateMilestoneParams) -> dict[str, Any]:
        if self.connector.config.milestones_as != "versions":
            # TODO: moving an epic's due date needs an issue edit, which the
            # connector does not make yet.
            msg = "update_milestone is not supported yet with milestones as epics."
            raise FatalError(msg, service="jira")
        return await read_version(self.connector, params.milestone_id)


async def read_version(connector: JiraConnector, version_id: str) -> dict[str, Any]:
    """Return ``GET /version/{id}``.

    Raises:
        RecordError: there is no such version.
    """
    client = connector.client
    response = await client.get(f"{API}/version/{version_id}")
    if response.status_code == 404:
        msg = f"The version {version_id!r} does not exist in Jira, or is not visible."
        raise RecordError(msg, service="jira", endpoint=f"{API}/version/{version_id}")
    raise_for_status(response, f"read the version {version_id!r}")
    return client.json(response)  # type: ignore[no-any-return]


def _version_changes(
    version: dict[str, Any], params: UpdateMilestoneParams
) -> dict[str, str]:
    body: dict[str, str] = {}
    if params.due is not None and version.get("releaseDate") != params.due.isoformat():
        body["releaseDate"] = params.due.isoformat()
    if params.name is not None and version.get("name") != params.name:
        body["name"] = params.name
    return body


def _milestone_result(version: dict[str, Any]) -> ActionResult:
    data = {"kind": "version", "releaseDate": version.get("releaseDate")}
    return ActionResult(external_id=str(version["id"]), data=data)
