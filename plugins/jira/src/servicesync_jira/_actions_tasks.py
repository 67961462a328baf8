"""Creating a project's tasks in bulk, safely under lost and partial answers."""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from servicesync.contract import Action, ActionResult
from servicesync.errors import ServiceUnavailable
from servicesync_sdk.base import CreatedItems

from servicesync_jira._client import API
from servicesync_jira._epics import place
from servicesync_jira._errors import error_text
from servicesync_jira._keys import issue_label

if TYPE_CHECKING:
    from servicesync_jira._connector import JiraConnector

__all__ = ["CreateTasks", "CreateTasksParams", "TaskSpec"]

logger = logging.getLogger(__name__)

BULK_SIZE = 50
FETCH_SIZE = 100
_MAX_SCAN_CHUNKS = 50
_SEARCH_ROUNDS = 3
_SEARCH_PAUSE = 10.0


class TaskSpec(BaseModel):
    """One task: ``ref`` is unique within its action and names it for dedup."""

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


class CreateTasks(Action[CreateTasksParams]):
    """Create tasks with ``POST /issue/bulk``, at most 50 per call.

    Each task is labelled ``servicesync-<token>`` of its own dedup key. What
    was created is kept in the connection's state, so a repeat sends only
    the rest. A lost answer is reconciled by reading issue keys back with
    ``bulkfetch`` (which sees writes at once); a bounded label search is the
    fallback where no key range is known. Elements a bulk call failed are
    sent again one at a time, never the whole call.
    """

    name = "create_tasks"
    params_model = CreateTasksParams

    def __init__(self, connector: JiraConnector) -> None:
        self.connector = connector
        self.created = CreatedItems(connector.context.state, "tasks")

    async def find(
        self, dedup_key: str, params: CreateTasksParams
    ) -> ActionResult | None:
        known = self.created.get(dedup_key)
        missing = {
            self._label(dedup_key, t): t.ref for t in params.tasks if t.ref not in known
        }
        if missing:
            found = await self.reconcile(params.project_key, list(missing))
            known.update({missing[label]: key for label, key in found.items()})
            self.created.put(dedup_key, known)
        if all(t.ref in known for t in params.tasks):
            return self._result(params.project_key, known, {})
        return None

    async def execute(self, dedup_key: str, params: CreateTasksParams) -> ActionResult:
        known = self.created.get(dedup_key)
        failed: dict[str, str] = {}
        pending = [t for t in params.tasks if t.ref not in known]
        for start in range(0, len(pending), BULK_SIZE):
            chunk = pending[start : start + BULK_SIZE]
            await self._send_chunk(dedup_key, params.project_key, chunk, known, failed)
            self.created.put(dedup_key, known)
        return self._result(params.project_key, known, failed)

    async def _send_chunk(
        self,
        dedup_key: str,
        project_key: str,
        chunk: list[TaskSpec],
        known: dict[str, str],
        failed: dict[str, str],
    ) -> None:
        client = self.connector.client
        body = {"issueUpdates": [self._issue(dedup_key, project_key, t) for t in chunk]}
        try:
            response = await client.post(f"{API}/issue/bulk", json=body)
        except ServiceUnavailable:
            logger.warning(
                "A bulk create of %d tasks lost its answer; reconciling.", len(chunk)
            )
            labels = {self._label(dedup_key, t): t for t in chunk}
            found = await self.reconcile(project_key, list(labels))
            known.update({labels[label].ref: key for label, key in found.items()})
            self.created.put(dedup_key, known)
            for task in chunk:
                if task.ref not in known:
                    await self._send_one(dedup_key, project_key, task, known, failed)
            return
        result = client.json(response) if response.status_code in (201, 400) else {}
        errors = {
            int(e.get("failedElementNumber", -1)): e for e in result.get("errors", [])
        }
        created = iter(result.get("issues", []))
        for index, task in enumerate(chunk):
            if index not in errors and response.status_code in (201, 400):
                issue = next(created, None)
                if issue is not None:
                    known[task.ref] = str(issue["key"])
                    self.connector.remember_key_floor(
                        project_key, _number(issue["key"])
                    )
        for index, error in sorted(errors.items()):
            task = chunk[index]
            if (
                int(error.get("status", 400)) in (429,)
                or int(error.get("status", 400)) >= 500
            ):
                await self._send_one(dedup_key, project_key, task, known, failed)
            else:
                failed[task.ref] = json.dumps(
                    error.get("elementErrors", {}), sort_keys=True
                )
        if response.status_code not in (201, 400):
            for task in chunk:
                failed.setdefault(
                    task.ref, f"HTTP {response.status_code}: {error_text(response)}"
                )

    async def _send_one(
        self,
        dedup_key: str,
        project_key: str,
        task: TaskSpec,
        known: dict[str, str],
        failed: dict[str, str],
    ) -> None:
        client = self.connector.client
        body = self._issue(dedup_key, project_key, task)
        try:
            response = await client.post(f"{API}/issue", json=body)
        except ServiceUnavailable:
            found = await self.reconcile(project_key, [self._label(dedup_key, task)])
            if found:
                known[task.ref] = next(iter(found.values()))
            else:
                failed[task.ref] = "The answer was lost and the task was not found."
            return
        if response.status_code == 201:
            known[task.ref] = str(client.json(response)["key"])
        else:
            failed[task.ref] = f"HTTP {response.status_code}: {error_text(response)}"

    async def reconcile(self, project_key: str, labels: list[str]) -> dict[str, str]:
        """Return ``{label: issue key}`` for the labelled issues that exist."""
        project, _ = place(self.connector.config, project_key)
        floor = self.connector.key_floor(project_key)
        if floor is not None:
            return await self._scan_keys(project, floor, set(labels))
        return await self.search_labels(project, set(labels))

    async def _scan_keys(
        self, project_key: str, floor: int, labels: set[str]
    ) -> dict[str, str]:
        client, found = self.connector.client, {}
        for round_ in range(_MAX_SCAN_CHUNKS):
            first = floor + 1 + round_ * FETCH_SIZE
            keys = [f"{project_key}-{n}" for n in range(first, first + FETCH_SIZE)]
            response = await client.post(
                f"{API}/issue/bulkfetch",
                json={"issueIdsOrKeys": keys, "fields": ["labels"]},
                idempotent=True,
            )
            issues = (
                client.json(response).get("issues", [])
                if response.status_code == 200
                else []
            )
            for issue in issues:
                for label in set(issue["fields"].get("labels") or []) & labels:
                    found[label] = str(issue["key"])
            if not issues or len(found) == len(labels):
                break
        return found

    async def search_labels(self, project_key: str, labels: set[str]) -> dict[str, str]:
        """Return ``{label: issue key}`` found by a few spaced label searches."""
        # The index lags behind writes, so an absent issue may yet appear;
        # a few spaced searches narrow that window without closing it.
        found: dict[str, str] = {}
        for round_ in range(_SEARCH_ROUNDS):
            if round_:
                await self.connector.context.clock.sleep(_SEARCH_PAUSE)
            wanted = sorted(labels - set(found))
            listed = ", ".join(wanted)
            jql = f"project = {project_key} AND labels in ({listed}) ORDER BY id"
            async for issue in self.connector.search(jql, ["labels"]):
                for label in set(issue["fields"].get("labels") or []) & labels:
                    found[label] = str(issue["key"])
            if len(found) == len(labels):
                break
        return found

    def _issue(
        self, dedup_key: str, project_key: str, task: TaskSpec
    ) -> dict[str, Any]:
        config = self.connector.config
        project, epic = place(config, project_key)
        fields: dict[str, Any] = {
            "project": {"key": project},
            "issuetype": {"name": "Task"},
            "summary": task.summary,
            "labels": [self._label(dedup_key, task)],
        }
        if task.description:
            fields["description"] = _adf(task.description)
        if task.due:
            fields["duedate"] = task.due.isoformat()
        if task.milestone and config.milestones_as == "versions":
            fields["fixVersions"] = [{"id": task.milestone}]
        # A milestone epic is the closer parent; the deal's epic is the other.
        parent = task.milestone if config.milestones_as == "epics" else None
        if parent or epic:
            fields["parent"] = {"key": parent or epic}
        account = self.connector.directory.known(task.assignee_email or "")
        if account:
            fields["assignee"] = {"accountId": account}
        return {"fields": fields}

    @staticmethod
    def _label(dedup_key: str, task: TaskSpec) -> str:
        return issue_label(f"{dedup_key}/{task.ref}")

    def _result(
        self, project_key: str, known: dict[str, str], failed: dict[str, str]
    ) -> ActionResult:
        return ActionResult(
            external_id=project_key, data={"created": dict(known)}, failed=failed
        )


def _number(key: str) -> int:
    return int(str(key).rsplit("-", 1)[1])


def _adf(text: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }
