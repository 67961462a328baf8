"""Actions that change a project after it was made: its budget line, its milestones.

Two-way consistency calls them when a won deal changes (its title, amount,
scope or dates). Each reads the project, epic or version first and writes
only what differs from what is asked, so an attempt repeated after a crash,
or a find after a lost answer, recognises what an earlier attempt did. In
epic mode the deal's project is an epic, and so may a milestone be; both
are changed with an issue edit (see :mod:`servicesync_jira._epic_updates`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from servicesync.contract import ActionResult
from servicesync.errors import RecordError
from servicesync_sdk.base import (
    UpdateMilestoneParams,
    UpdateProjectParams,
    budget_values,
    read_budget,
    with_budget,
)

from servicesync_jira._actions_lifecycle import _ProjectAction
from servicesync_jira._client import API
from servicesync_jira._epic_updates import (
    deal_epic_changes,
    edit_issue,
    milestone_epic_changes,
    milestone_epic_result,
    read_deal_epic,
    read_milestone_epic,
)
from servicesync_jira._epics import deal_epic_result
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
    hours) and client go into the description's budget line. In epic mode
    the deal's epic is changed instead: its summary is the title, and the
    budget line is a paragraph of its description.
    """

    name = "update_project"
    params_model = UpdateProjectParams

    async def find(
        self, dedup_key: str, params: UpdateProjectParams
    ) -> ActionResult | None:
        if self.connector.config.mode == "epic":
            epic = await read_deal_epic(self.connector, params.project_key)
            if deal_epic_changes(epic, params):
                return None
            return deal_epic_result(self.connector, str(epic["key"]))
        project = await self.project(params.project_key)
        if _changes(project, params):
            return None
        return project_result(self.connector, project)

    async def execute(
        self, dedup_key: str, params: UpdateProjectParams
    ) -> ActionResult:
        if self.connector.config.mode == "epic":
            return await self._update_epic(params)
        project = await self.project(params.project_key)
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

    async def _update_epic(self, params: UpdateProjectParams) -> ActionResult:
        epic = await read_deal_epic(self.connector, params.project_key)
        key = str(epic["key"])
        changes = deal_epic_changes(epic, params)
        if changes:
            await edit_issue(self.connector, key, changes)
            logger.info("Updated %s of the deal epic %s", ", ".join(changes), key)
        return deal_epic_result(self.connector, key)


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
    """Move a milestone's due date or rename it.

    A version's release date and name change with ``PUT /version/{id}``; a
    milestone made as an epic (``milestones_as = "epics"``) has its due
    date and summary changed with an issue edit.
    """

    name = "update_milestone"
    params_model = UpdateMilestoneParams

    async def find(
        self, dedup_key: str, params: UpdateMilestoneParams
    ) -> ActionResult | None:
        if self.connector.config.milestones_as == "epics":
            epic = await read_milestone_epic(self.connector, params)
            if milestone_epic_changes(epic, params):
                return None
            return milestone_epic_result(epic)
        version = await read_version(self.connector, params.milestone_id)
        if _version_changes(version, params):
            return None
        return _milestone_result(version)

    async def execute(
        self, dedup_key: str, params: UpdateMilestoneParams
    ) -> ActionResult:
        if self.connector.config.milestones_as == "epics":
            return await self._update_epic(params)
        version = await read_version(self.connector, params.milestone_id)
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

    async def _update_epic(self, params: UpdateMilestoneParams) -> ActionResult:
        epic = await read_milestone_epic(self.connector, params)
        changes = milestone_epic_changes(epic, params)
        if changes:
            await edit_issue(self.connector, str(epic["key"]), changes)
            epic = {**epic, "fields": {**epic["fields"], **changes}}
            logger.info(
                "Updated %s of the milestone epic %s", ", ".join(changes), epic["key"]
            )
        return milestone_epic_result(epic)


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
