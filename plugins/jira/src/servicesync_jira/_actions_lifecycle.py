"""Actions for a project whose deal was lost or reopened: mark, unmark, archive.

Each one reads the project first and writes only when the project is not yet
in the state asked for, so any number of attempts leave one visible change:
the mark is one line at the top of the description (it begins with
``[servicesync mark]``), and archiving is Jira's own archive, which keeps
every issue and can be undone from Jira's archive page.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from servicesync.contract import Action, ActionResult
from servicesync.errors import RecordError

from servicesync_jira._client import API
from servicesync_jira._errors import raise_for_status
from servicesync_jira._projects import (
    MARK_PREFIX,
    marked_line,
    project_result,
    read_project,
)

if TYPE_CHECKING:
    from servicesync_jira._connector import JiraConnector

__all__ = [
    "ArchiveProject",
    "MarkProject",
    "MarkProjectParams",
    "ProjectParams",
    "UnmarkProject",
]

logger = logging.getLogger(__name__)


class ProjectParams(BaseModel):
    """Names one project by key (or id)."""

    project_key: str


class MarkProjectParams(BaseModel):
    """The project to mark and the note the mark shows."""

    project_key: str
    note: str


class _ProjectAction(Action[Any]):
    """An action on an existing project, which reads it before any write."""

    def __init__(self, connector: JiraConnector) -> None:
        self.connector = connector

    async def project(self, key: str) -> dict[str, Any]:
        found = await read_project(self.connector, key)
        if found is None:
            msg = f"The project {key!r} does not exist in Jira, or is not visible."
            raise RecordError(msg, service="jira", endpoint=f"{API}/project/{key}")
        return found

    async def set_description(self, key: str, description: str) -> dict[str, Any]:
        client = self.connector.client
        response = await client.put(
            f"{API}/project/{key}", json={"description": description}
        )
        raise_for_status(response, f"update the description of {key!r}")
        return client.json(response)  # type: ignore[no-any-return]


class MarkProject(_ProjectAction):
    """Put a visible note at the top of the project's description."""

    name = "mark_project"
    params_model = MarkProjectParams

    async def find(
        self, dedup_key: str, params: MarkProjectParams
    ) -> ActionResult | None:
        project = await self.project(params.project_key)
        if marked_line(_description(project)) == _mark(params.note):
            return project_result(self.connector, project)
        return None

    async def execute(self, dedup_key: str, params: MarkProjectParams) -> ActionResult:
        project = await self.project(params.project_key)
        description = _description(project)
        wanted = _mark(params.note)
        if marked_line(description) != wanted:
            text = "\n".join([wanted, *_unmarked_lines(description)])
            project = await self.set_description(params.project_key, text)
            logger.info("Marked the project %s: %s", params.project_key, wanted)
        return project_result(self.connector, project)


class UnmarkProject(_ProjectAction):
    """Remove the mark line from the project's description, if it has one."""

    name = "unmark_project"
    params_model = ProjectParams

    async def find(self, dedup_key: str, params: ProjectParams) -> ActionResult | None:
        project = await self.project(params.project_key)
        if marked_line(_description(project)) is None:
            return project_result(self.connector, project)
        return None

    async def execute(self, dedup_key: str, params: ProjectParams) -> ActionResult:
        project = await self.project(params.project_key)
        description = _description(project)
        if marked_line(description) is not None:
            text = "\n".join(_unmarked_lines(description))
            project = await self.set_description(params.project_key, text)
            logger.info("Removed the mark of the project %s", params.project_key)
        return project_result(self.connector, project)


class ArchiveProject(_ProjectAction):
    """Archive the project: read-only and out of lists, nothing deleted."""

    name = "archive_project"
    params_model = ProjectParams

    async def find(self, dedup_key: str, params: ProjectParams) -> ActionResult | None:
        project = await self.project(params.project_key)
        if project.get("archived"):
            return project_result(self.connector, project)
        return None

    async def execute(self, dedup_key: str, params: ProjectParams) -> ActionResult:
        project = await self.project(params.project_key)
        if project.get("archived"):
            return project_result(self.connector, project)
        key = str(project["key"])
        response = await self.connector.client.post(f"{API}/project/{key}/archive")
        raise_for_status(response, f"archive the project {key!r}")
        logger.info("Archived the project %s", key)
        return project_result(self.connector, {**project, "archived": True})


def _description(project: dict[str, Any]) -> str:
    return str(project.get("description") or "")


def _mark(note: str) -> str:
    # One line, so that it can be found and taken out again exactly.
    return MARK_PREFIX + " ".join(note.split())


def _unmarked_lines(description: str) -> list[str]:
    lines = description.splitlines()
    return [line for line in lines if not line.startswith(MARK_PREFIX)]
