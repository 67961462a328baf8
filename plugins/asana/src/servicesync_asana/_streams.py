"""Reading projects, and summing up progress per section (milestone)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from servicesync.contract import Page, Record, Stream, StreamState

from servicesync_asana._client import fields

if TYPE_CHECKING:
    from servicesync_asana._connector import AsanaConnector

__all__ = [
    "PROGRESS_FIELDS",
    "PROJECT_FIELDS",
    "ProgressStream",
    "ProjectsStream",
    "section_progress",
]

PROJECT_FIELDS = [
    "name",
    "notes",
    "archived",
    "completed",
    "completed_at",
    "modified_at",
    "start_on",
    "due_on",
    "permalink_url",
]

#: What the progress roll-up needs of each task.
PROGRESS_FIELDS = [
    "completed",
    "due_on",
    "assignee",
    "assignee.name",
    "memberships.project",
    "memberships.project.name",
    "memberships.section",
    "memberships.section.name",
]


class ProjectsStream(Stream):
    """Every project of the team (or workspace), read in full each time."""

    name = "projects"
    record_type = "project"
    primary_key = "gid"
    incremental = False

    def __init__(self, connector: AsanaConnector) -> None:
        self.connector = connector

    async def read(self, state: StreamState) -> AsyncIterator[Page]:
        api = self.connector.api
        path = self.connector.projects_path()
        params = {"opt_fields": fields(PROJECT_FIELDS)}
        offset: str | None = None
        while True:
            rows, offset = await api.page(path, "list projects", params, offset)
            yield Page([Record.of(r["gid"], r) for r in rows], state)
            if offset is None:
                return


class ProgressStream(Stream):
    """Done versus total tasks per section of each project in scope.

    One record per section that holds tasks (and one per project for tasks
    outside any section), read in full each run: the records only change in
    the store when a count, a due date or an assignee moved.
    """

    name = "progress"
    record_type = "progress"
    primary_key = "gid"
    incremental = False

    def __init__(self, connector: AsanaConnector) -> None:
        self.connector = connector

    async def read(self, state: StreamState) -> AsyncIterator[Page]:
        projects = await self.connector.scope()
        for project in projects:
            yield Page(await self._rollups(project), state)
        if not projects:
            yield Page([], state)

    async def read_records(self, external_ids: Sequence[str]) -> Sequence[Record]:
        """Read again the roll-ups of the projects the named tasks are in.

        A webhook names the tasks that changed, not their sections, so the
        ids may be task gids (Asana's gids are unique across kinds): each
        named task is read once (ten a ``/batch`` call) for its projects,
        and every roll-up of those projects in scope is read again, one
        paged list of a project's tasks each. An id that names no task adds
        nothing.
        """
        tasks = await self.connector.read_tasks(list(external_ids))
        scope = set(await self.connector.scope())
        projects = {
            str(membership["project"]["gid"])
            for task in tasks.values()
            if task
            for membership in task.get("memberships") or ()
            if isinstance(membership.get("project"), Mapping)
        }
        records: list[Record] = []
        for project in sorted(projects & scope, key=int):
            records += await self._rollups(project)
        return records

    async def _rollups(self, project: str) -> list[Record]:
        """Read a project's tasks; return its roll-ups as records."""
        tasks = [
            row
            async for row in self.connector.api.walk(
                f"/projects/{project}/tasks",
                "list the project's tasks",
                {"opt_fields": fields(PROGRESS_FIELDS)},
            )
        ]
        return [Record.of(r["gid"], r) for r in section_progress(project, tasks)]


def section_progress(
    project: str, tasks: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Count done and total tasks per section of ``project``.

    Each roll-up also gives the latest due date (``due_on``), the earliest
    due date of an open task (``next_due_on``) and the assignees.

    Example:
        >>> task = {"gid": "1", "completed": True, "memberships": [
        ...     {"project": {"gid": "9"}, "section": {"gid": "5", "name": "Beta"}}]}
        >>> section_progress("9", [task])[0]["done"]
        1
    """
    rollups: dict[str, dict[str, Any]] = {}
    for task in tasks:
        section, project_ref = _placement(project, task)
        key = str(section["gid"]) if section else f"{project}/none"
        rollup = rollups.setdefault(key, _empty(key, section, project_ref))
        _add(rollup, task)
    for rollup in rollups.values():
        rollup["assignees"] = sorted(
            rollup["assignees"].values(), key=lambda a: a["gid"]
        )
    return [rollups[k] for k in sorted(rollups)]


def _placement(
    project: str, task: Mapping[str, Any]
) -> tuple[Mapping[str, Any] | None, Mapping[str, Any]]:
    for membership in task.get("memberships") or []:
        ref = membership.get("project") or {}
        if str(ref.get("gid")) == project:
            return membership.get("section") or None, ref
    return None, {"gid": project}


def _empty(
    key: str, section: Mapping[str, Any] | None, project: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "gid": key,
        "section": dict(section) if section else None,
        "project": {"gid": str(project.get("gid")), "name": project.get("name")},
        "total": 0,
        "done": 0,
        "due_on": None,
        "next_due_on": None,
        "assignees": {},
    }


def _add(rollup: dict[str, Any], task: Mapping[str, Any]) -> None:
    rollup["total"] += 1
    done = bool(task.get("completed"))
    rollup["done"] += done
    due = task.get("due_on")
    if due and (rollup["due_on"] is None or due > rollup["due_on"]):
        rollup["due_on"] = due
    if (
        due
        and not done
        and (rollup["next_due_on"] is None or due < rollup["next_due_on"])
    ):
        rollup["next_due_on"] = due
    assignee = task.get("assignee")
    if assignee:
        gid = str(assignee["gid"])
        rollup["assignees"][gid] = {"gid": gid, "name": assignee.get("name")}
