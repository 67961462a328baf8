"""Actions that change a project after it was made: its budget line, its milestones.

Two-way consistency calls them when a won deal changes (its title, amount,
scope or dates). Asana keeps no budget on a project (custom fields are a
paid feature and need a field made by hand), so the amount, currency, scope
and client go into a line of the project's notes, as in every tool without
a budget. A milestone is a section, which has no date of its own: it is due
when its last task is, so moving it moves the due date (``due_on``) of each
of its dated tasks by as much as the last one must move.

Each action reads first and writes only what differs from what is asked, so
an attempt repeated after a crash, or a find after a lost answer, recognises
what an earlier attempt did.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import TYPE_CHECKING, Any

from servicesync.contract import ActionResult
from servicesync.dedup import TOKEN_PATTERN
from servicesync.errors import RecordError, ServiceUnavailable
from servicesync_sdk.base import (
    MilestoneMoves,
    UpdateMilestoneParams,
    UpdateProjectParams,
    budget_values,
    pending_moves,
    read_budget,
    send_moves,
    with_budget,
)

from servicesync_asana._actions_lifecycle import _ProjectAction
from servicesync_asana._client import BATCH_SIZE, batch_refusal, fields

if TYPE_CHECKING:
    from servicesync_asana._connector import AsanaConnector

__all__ = [
    "UpdateMilestone",
    "UpdateMilestoneParams",
    "UpdateProject",
    "UpdateProjectParams",
    "project_title",
]

logger = logging.getLogger(__name__)

#: The marker a project made from a template carries at the end of its name.
_TOKEN_SUFFIX = re.compile(rf" \[{TOKEN_PATTERN.pattern}\]$")


def project_title(name: str) -> str:
    """Return the title servicesync gave a project, without a template's marker.

    Example:
        >>> project_title("Northwind: data audit [ss-abcdefghijklmnop]")
        'Northwind: data audit'
    """
    return _TOKEN_SUFFIX.sub("", name)


class UpdateProject(_ProjectAction):
    """Rename a project and set the budget line of its notes, writing only what differs.

    A project made from a template keeps the marker at the end of its name,
    which is how an earlier attempt's project is found.
    """

    name = "update_project"
    params_model = UpdateProjectParams

    async def find(
        self, dedup_key: str, params: UpdateProjectParams
    ) -> ActionResult | None:
        project = await self.project(params.project_key)
        if _changes(project, params):
            return None
        return _project_result(self, project)

    async def execute(
        self, dedup_key: str, params: UpdateProjectParams
    ) -> ActionResult:
        project = await self.project(params.project_key)
        changes = _changes(project, params)
        if changes:
            project = await self.update(params.project_key, changes)
            logger.info(
                "Updated %s of the project %s", ", ".join(changes), params.project_key
            )
        return _project_result(self, project)


def _changes(project: dict[str, Any], params: UpdateProjectParams) -> dict[str, str]:
    """Return the body that makes ``project`` as asked; empty when it already is."""
    body: dict[str, str] = {}
    name = str(project.get("name") or "")
    if params.title is not None and project_title(name) != params.title:
        body["name"] = params.title + name[len(project_title(name)) :]
    notes = str(project.get("notes") or "")
    budget = read_budget(notes)
    wanted = {**budget, **budget_values(params)}
    if wanted != budget:
        body["notes"] = with_budget(notes, wanted)
    return body


def _project_result(action: _ProjectAction, project: dict[str, Any]) -> ActionResult:
    result = action.result(project)
    data = {"id": result.external_id, "name": project.get("name"), **result.data}
    return result.model_copy(update={"data": data})


class UpdateMilestone(_ProjectAction):
    """Move a section's due date, or rename it.

    The section is due when its last dated task is. Moving it to ``due``
    moves every dated task of the section by as much as that last one must
    move, ten ``PUT /tasks/{gid}`` per ``/batch`` call, those that end the
    section last; the plan is kept in the connection's state first, so a
    repeat finishes it instead of moving a task twice. A section with no
    dated task has no due date to move.

    A task Asana refuses (400, 404, 409) does not stop the others, but the
    tasks that end the section wait until every other task moved; the
    refused tasks are reported in :attr:`ActionResult.failed`, which leaves
    the write pending, so the next attempt sends what is left of the plan.
    """

    name = "update_milestone"
    params_model = UpdateMilestoneParams

    def __init__(self, connector: AsanaConnector) -> None:
        super().__init__(connector)
        self.moves = MilestoneMoves(connector.context.state, "sections")

    async def find(
        self, dedup_key: str, params: UpdateMilestoneParams
    ) -> ActionResult | None:
        section = await self._section(params)
        dues = await self._dues(params)
        if params.name is not None and section["name"] != params.name:
            return None
        if params.due is not None and not self._moved(dedup_key, params.due, dues):
            return None
        return _milestone_result(params.milestone_id, dues)

    async def execute(
        self, dedup_key: str, params: UpdateMilestoneParams
    ) -> ActionResult:
        section = await self._section(params)
        if params.name is not None and section["name"] != params.name:
            await self._rename(params, params.name)
        dues = await self._dues(params)
        refused: dict[str, str] = {}
        if params.due is not None:
            dues, refused = await self._move(dedup_key, params, params.due, dues)
        result = _milestone_result(params.milestone_id, dues)
        return result.model_copy(update={"failed": refused})

    def _moved(self, dedup_key: str, due: date, dues: dict[str, date | None]) -> bool:
        """Whether the section is due on ``due``, as planned for ``dedup_key``."""
        planned = self.moves.planned(dedup_key)
        if planned is None:
            return _latest(dues) == due
        return not pending_moves(dues, planned)

    async def _move(
        self,
        dedup_key: str,
        params: UpdateMilestoneParams,
        due: date,
        dues: dict[str, date | None],
    ) -> tuple[dict[str, date | None], dict[str, str]]:
        """Make the moves still pending.

        Returns:
            The tasks' due dates after the moves, and the tasks Asana
            refused to move, with its reason.
        """
        planned = self.moves.planned(dedup_key)
        if planned is None:
            if _latest(dues) == due:
                return dues, {}
            dated = {task: day for task, day in dues.items() if day is not None}
            if not dated:
                msg = (
                    f"The section {params.milestone_id!r} has no task with a due "
                    "date, so it has no due date to move; give one of its tasks "
                    "a due date first."
                )
                raise RecordError(msg, service="asana")
            planned = self.moves.plan(dedup_key, dated, due)
        pending = pending_moves(dues, planned)
        refused = await send_moves(pending, planned, self._send, per_call=BATCH_SIZE)
        made = [(task, day) for task, day in pending if task not in refused]
        if made:
            logger.info(
                "Moved %d tasks of the section %s to end on %s",
                len(made), params.milestone_id, due,
            )  # fmt: skip
        if refused:
            logger.warning(
                "Asana refused to move %d tasks of the section %s; the next "
                "attempt moves what is left",
                len(refused), params.milestone_id,
            )  # fmt: skip
        return {**dues, **dict(made)}, refused

    async def _send(self, moves: list[tuple[str, date]]) -> dict[str, str]:
        """Move the tasks in one ``/batch`` call; return those Asana refused."""
        actions = [
            {
                "relative_path": f"/tasks/{task}",
                "method": "put",
                "data": {"due_on": day.isoformat()},
                "options": {"fields": ["due_on"]},
            }
            for task, day in moves
        ]
        answers = await self.connector.api.batch(actions)
        refused: dict[str, str] = {}
        for (task, _), answer in zip(moves, answers, strict=True):
            if answer.ok:
                continue
            if answer.status == 429 or answer.status >= 500:
                # The plan is kept: the next attempt moves what is left.
                msg = f"Moving the task {task!r} failed ({answer.status})."
                raise ServiceUnavailable(msg, service="asana", endpoint="POST /batch")
            error = batch_refusal(answer, f"move the task {task!r}")
            if not isinstance(error, RecordError):
                raise error
            refused[task] = str(error)
        return refused

    async def _section(self, params: UpdateMilestoneParams) -> dict[str, Any]:
        """Return the section, after making sure it is one of the project's.

        Raises:
            RecordError: the project has no such section.
        """
        async for section in self.connector.api.walk(
            f"/projects/{params.project_key}/sections",
            "list the project's sections",
            {"opt_fields": fields(["name"])},
        ):
            if str(section["gid"]) == params.milestone_id:
                return section
        msg = (
            f"The project {params.project_key!r} has no section "
            f"{params.milestone_id!r} in Asana."
        )
        raise RecordError(msg, service="asana")

    async def _dues(self, params: UpdateMilestoneParams) -> dict[str, date | None]:
        """Return the due date of each task of the section, by gid."""
        dues: dict[str, date | None] = {}
        async for task in self.connector.api.walk(
            f"/projects/{params.project_key}/tasks",
            "list the project's tasks",
            {"opt_fields": fields(["due_on", "memberships.section"])},
        ):
            sections = {
                str((m.get("section") or {}).get("gid"))
                for m in task.get("memberships") or []
            }
            if params.milestone_id in sections:
                due = task.get("due_on")
                dues[str(task["gid"])] = date.fromisoformat(due) if due else None
        return dues

    async def _rename(self, params: UpdateMilestoneParams, name: str) -> None:
        await self.connector.api.write(
            "PUT",
            f"/sections/{params.milestone_id}",
            f"rename the section {params.milestone_id!r}",
            {"name": name},
            {"opt_fields": "name"},
        )
        self.connector.sections.renamed(params.project_key, params.milestone_id, name)
        logger.info("Renamed the section %s to %r", params.milestone_id, name)


def _latest(dues: dict[str, date | None]) -> date | None:
    return max((day for day in dues.values() if day is not None), default=None)


def _milestone_result(section: str, dues: dict[str, date | None]) -> ActionResult:
    latest = _latest(dues)
    data = {"kind": "section", "due": latest.isoformat() if latest else None}
    return ActionResult(external_id=section, data=data)
