"""Creating a project's tasks through ``/batch``, safely under lost answers.

Each task's notes carry the marker of its own deduplication key
(``<action key>/<ref>``). What was created is kept in the connection's
state, so a repeat sends only the rest; what an answer did not tell is
settled by listing the project's tasks and reading the markers back, and
only the tasks still missing are sent again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from servicesync.contract import Action, ActionResult
from servicesync.dedup import dedup_token, find_token, marker
from servicesync.errors import RetryableError
from servicesync_sdk.base import CreatedItems

from servicesync_asana._client import BATCH_SIZE, BatchAnswer, fields

if TYPE_CHECKING:
    from servicesync_asana._connector import AsanaConnector

__all__ = ["CreateTasks", "CreateTasksParams", "TaskSpec"]

logger = logging.getLogger(__name__)

#: Rounds of sending what is still missing before giving up on it.
_ROUNDS = 3


class TaskSpec(BaseModel):
    """One task: ``ref`` is unique within its action and names it for dedup.

    ``milestone`` is the name of the task's section (or its gid).
    """

    ref: str
    summary: str
    description: str | None = None
    milestone: str | None = None
    assignee_email: str | None = None
    due: date | None = None


class CreateTasksParams(BaseModel):
    """The tasks to create in one project."""

    project_key: str
    tasks: list[TaskSpec]


@dataclass
class _Outcome:
    """Where each task stands after a round."""

    created: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    unknown: list[TaskSpec] = field(default_factory=list)
    retry: list[TaskSpec] = field(default_factory=list)
    unassigned: dict[str, str] = field(default_factory=dict)


class CreateTasks(Action[CreateTasksParams]):
    """Create tasks in their sections, ten ``POST /tasks`` per ``/batch`` call.

    An assignee Asana does not know is dropped and the task sent again
    unassigned; the email is reported under ``unassigned``.
    """

    name = "create_tasks"
    params_model = CreateTasksParams

    def __init__(self, connector: AsanaConnector) -> None:
        self.connector = connector
        self.created = CreatedItems(connector.context.state, "tasks")

    async def find(
        self, dedup_key: str, params: CreateTasksParams
    ) -> ActionResult | None:
        known = self.created.get(dedup_key)
        if any(t.ref not in known for t in params.tasks):
            known.update(
                await self._reconcile(dedup_key, params.project_key, params.tasks)
            )
            self.created.put(dedup_key, known)
        if all(t.ref in known for t in params.tasks):
            return self._result(params.project_key, known, {}, {})
        return None

    async def execute(self, dedup_key: str, params: CreateTasksParams) -> ActionResult:
        known = self.created.get(dedup_key)
        pending = [t for t in params.tasks if t.ref not in known]
        sections = await self._sections(params.project_key, pending)
        outcome = _Outcome(created=known)
        for _ in range(_ROUNDS):
            if not pending:
                break
            outcome.unknown, outcome.retry = [], []
            for start in range(0, len(pending), BATCH_SIZE):
                chunk = pending[start : start + BATCH_SIZE]
                await self._send(
                    dedup_key, params.project_key, chunk, sections, outcome
                )
                self.created.put(dedup_key, outcome.created)
            pending = await self._settle(dedup_key, params.project_key, outcome)
        for task in pending:
            outcome.failed[task.ref] = "Asana's answer was lost and the task not found."
        return self._result(
            params.project_key, outcome.created, outcome.failed, outcome.unassigned
        )

    async def _settle(
        self, dedup_key: str, project: str, outcome: _Outcome
    ) -> list[TaskSpec]:
        """Find the tasks whose fate is unknown; return what must be sent again."""
        unknown = outcome.unknown
        if unknown:
            found = await self._reconcile(dedup_key, project, unknown)
            outcome.created.update(found)
            self.created.put(dedup_key, outcome.created)
            unknown = [t for t in unknown if t.ref not in found]
        return unknown + outcome.retry

    async def _send(
        self,
        dedup_key: str,
        project: str,
        chunk: list[TaskSpec],
        sections: dict[str, str],
        outcome: _Outcome,
    ) -> None:
        actions = [
            self._action(dedup_key, project, t, sections, outcome) for t in chunk
        ]
        try:
            answers = await self.connector.api.batch(actions)
        except RetryableError:
            logger.warning(
                "A batch of %d tasks lost its answer; settling it.", len(chunk)
            )
            outcome.unknown.extend(chunk)
            return
        for task, answer in zip(chunk, answers, strict=True):
            self._take(task, answer, outcome)

    def _take(self, task: TaskSpec, answer: BatchAnswer, outcome: _Outcome) -> None:
        if answer.ok:
            outcome.created[task.ref] = str(answer.data["gid"])
        elif answer.status == 429 or answer.status >= 500:
            # Applied or not, nobody can tell: the listing settles it.
            outcome.unknown.append(task)
        elif (
            answer.status == 400
            and task.assignee_email
            and "assignee" in answer.error.lower()
            and task.ref not in outcome.unassigned
        ):
            outcome.unassigned[task.ref] = task.assignee_email
            outcome.retry.append(task)
        else:
            outcome.failed[task.ref] = f"HTTP {answer.status}: {answer.error}"

    def _action(
        self,
        dedup_key: str,
        project: str,
        task: TaskSpec,
        sections: dict[str, str],
        outcome: _Outcome,
    ) -> dict[str, Any]:
        notes = f"{task.description or ''}\n\n{marker(self._token(dedup_key, task))}"
        data: dict[str, Any] = {"name": task.summary, "notes": notes.strip()}
        section = sections.get(task.milestone or "")
        if section:
            data["memberships"] = [{"project": project, "section": section}]
        else:
            data["projects"] = [project]
        if task.assignee_email and task.ref not in outcome.unassigned:
            data["assignee"] = task.assignee_email
        if task.due:
            data["due_on"] = task.due.isoformat()
        return {
            "relative_path": "/tasks",
            "method": "post",
            "data": data,
            "options": {"fields": ["name"]},
        }

    async def _sections(self, project: str, tasks: list[TaskSpec]) -> dict[str, str]:
        names = {t.milestone for t in tasks if t.milestone}
        if not names:
            return {}
        resolved = await self.connector.sections.resolve(project, names)
        for name in sorted(names - set(resolved)):
            logger.warning(
                "No section %r in project %s; its tasks go in without one.",
                name,
                project,
            )
        return resolved

    async def _reconcile(
        self, dedup_key: str, project: str, tasks: list[TaskSpec]
    ) -> dict[str, str]:
        """Return ``{ref: gid}`` of the tasks whose marker the project holds."""
        refs = {self._token(dedup_key, t): t.ref for t in tasks}
        found: dict[str, str] = {}
        async for row in self.connector.api.walk(
            f"/projects/{project}/tasks",
            "list the project's tasks",
            {"opt_fields": fields(["notes"])},
        ):
            token = find_token(row.get("notes"))
            if token in refs:
                found[refs[token]] = str(row["gid"])
        return found

    @staticmethod
    def _token(dedup_key: str, task: TaskSpec) -> str:
        return dedup_token(f"{dedup_key}/{task.ref}")

    @staticmethod
    def _result(
        project: str,
        created: dict[str, str],
        failed: dict[str, str],
        unassigned: dict[str, str],
    ) -> ActionResult:
        return ActionResult(
            external_id=project,
            data={"created": dict(created), "unassigned": unassigned},
            failed=failed,
        )
