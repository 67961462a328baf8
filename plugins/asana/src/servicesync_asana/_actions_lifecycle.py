"""Actions for a project whose deal was lost or reopened: mark, unmark, archive.

Each reads the project first and writes only when it is not yet as asked,
so any number of attempts leave one change. The mark is one line at the top
of the project's notes, beginning with ``[servicesync mark]``; archiving is
Asana's own archive, which keeps every task and can be undone in Asana.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from servicesync.contract import Action, ActionResult

from servicesync_asana._client import fields

if TYPE_CHECKING:
    from servicesync_asana._connector import AsanaConnector

__all__ = [
    "MARK_PREFIX",
    "ArchiveProject",
    "MarkProject",
    "MarkProjectParams",
    "ProjectParams",
    "UnmarkProject",
]

logger = logging.getLogger(__name__)

MARK_PREFIX = "[servicesync mark]"
_FIELDS = ["name", "notes", "archived", "permalink_url"]


class ProjectParams(BaseModel):
    """Names one project by gid."""

    project_key: str


class MarkProjectParams(BaseModel):
    """The project to mark and the note the mark shows."""

    project_key: str
    note: str


class _ProjectAction(Action[Any]):
    """An action on an existing project that reads it before any write."""

    def __init__(self, connector: AsanaConnector) -> None:
        self.connector = connector

    async def project(self, gid: str) -> dict[str, Any]:
        found: dict[str, Any] = await self.connector.api.read(
            f"/projects/{gid}", "read the project", {"opt_fields": fields(_FIELDS)}
        )
        return found

    async def update(self, gid: str, data: dict[str, Any]) -> dict[str, Any]:
        changed: dict[str, Any] = await self.connector.api.write(
            "PUT",
            f"/projects/{gid}",
            "update the project",
            data,
            {"opt_fields": fields(_FIELDS)},
        )
        return changed

    def result(self, project: dict[str, Any]) -> ActionResult:
        gid = str(project["gid"])
        url = project.get("permalink_url") or self.connector.project_url(gid)
        return ActionResult(
            external_id=gid,
            url=url,
            data={"archived": bool(project.get("archived"))},
        )


class MarkProject(_ProjectAction):
    """Put a visible note at the top of the project's notes."""

    name = "mark_project"
    params_model = MarkProjectParams

    async def find(
        self, dedup_key: str, params: MarkProjectParams
    ) -> ActionResult | None:
        project = await self.project(params.project_key)
        if _marked_line(project) == _mark(params.note):
            return self.result(project)
        return None

    async def execute(self, dedup_key: str, params: MarkProjectParams) -> ActionResult:
        project = await self.project(params.project_key)
        wanted = _mark(params.note)
        if _marked_line(project) != wanted:
            notes = "\n".join([wanted, *_unmarked_lines(project)])
            project = await self.update(params.project_key, {"notes": notes})
            logger.info("Marked the project %s: %s", params.project_key, wanted)
        return self.result(project)


class UnmarkProject(_ProjectAction):
    """Take the mark line off the project's notes, if it has one."""

    name = "unmark_project"
    params_model = ProjectParams

    async def find(self, dedup_key: str, params: ProjectParams) -> ActionResult | None:
        project = await self.project(params.project_key)
        return self.result(project) if _marked_line(project) is None else None

    async def execute(self, dedup_key: str, params: ProjectParams) -> ActionResult:
        project = await self.project(params.project_key)
        if _marked_line(project) is not None:
            notes = "\n".join(_unmarked_lines(project))
            project = await self.update(params.project_key, {"notes": notes})
            logger.info("Removed the mark of the project %s", params.project_key)
        return self.result(project)


class ArchiveProject(_ProjectAction):
    """Archive the project: out of lists, nothing deleted."""

    name = "archive_project"
    params_model = ProjectParams

    async def find(self, dedup_key: str, params: ProjectParams) -> ActionResult | None:
        project = await self.project(params.project_key)
        return self.result(project) if project.get("archived") else None

    async def execute(self, dedup_key: str, params: ProjectParams) -> ActionResult:
        project = await self.project(params.project_key)
        if not project.get("archived"):
            project = await self.update(params.project_key, {"archived": True})
            logger.info("Archived the project %s", params.project_key)
        return self.result(project)


def _mark(note: str) -> str:
    return f"{MARK_PREFIX} {note}".strip()


def _lines(project: dict[str, Any]) -> list[str]:
    return str(project.get("notes") or "").splitlines()


def _marked_line(project: dict[str, Any]) -> str | None:
    lines = _lines(project)
    return lines[0] if lines and lines[0].startswith(MARK_PREFIX) else None


def _unmarked_lines(project: dict[str, Any]) -> list[str]:
    lines = _lines(project)
    return lines[1:] if _marked_line(project) is not None else lines
