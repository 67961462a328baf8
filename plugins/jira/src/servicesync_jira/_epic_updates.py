"""Changing an epic after it was made: a deal's epic, or a milestone's.

In epic mode a deal's project is an epic of the shared project: its title
is the epic's summary and its budget line a paragraph of the epic's
description. A milestone made as an epic is due on the epic's due date.
Both are read with ``GET /issue/{key}`` and changed with one issue edit,
``PUT /issue/{key}``, holding only the fields that differ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servicesync.contract import ActionResult
from servicesync.errors import RecordError
from servicesync_sdk.base import (
    UpdateMilestoneParams,
    UpdateProjectParams,
    budget_values,
    read_budget,
)

from servicesync_jira._client import API
from servicesync_jira._document import document_text, with_budget_paragraph
from servicesync_jira._epics import place
from servicesync_jira._errors import raise_for_status

if TYPE_CHECKING:
    from servicesync_jira._connector import JiraConnector

__all__ = [
    "deal_epic_changes",
    "edit_issue",
    "milestone_epic_changes",
    "milestone_epic_result",
    "read_deal_epic",
    "read_milestone_epic",
]

_EPIC_FIELDS = "summary,description,duedate,issuetype,project"


async def read_deal_epic(connector: JiraConnector, key: str) -> dict[str, Any]:
    """Return the epic that stands for a deal's project in epic mode.

    Raises:
        RecordError: ``key`` names no epic of the shared project.
    """
    shared, epic = place(connector.config, key)
    if epic is None:
        msg = (
            f"In epic mode a deal's project is an epic of {shared!r}, named by "
            f"its issue key (such as '{shared}-12'), not {key!r}."
        )
        raise RecordError(msg, service="jira")
    return await _read_epic(connector, epic, shared)


async def read_milestone_epic(
    connector: JiraConnector, params: UpdateMilestoneParams
) -> dict[str, Any]:
    """Return the epic a milestone was made as, in the project it belongs to.

    Raises:
        RecordError: the milestone names no epic of the deal's Jira project.
    """
    project, _ = place(connector.config, params.project_key)
    return await _read_epic(connector, params.milestone_id, project)


async def _read_epic(
    connector: JiraConnector, key: str, project: str
) -> dict[str, Any]:
    client = connector.client
    response = await client.get(f"{API}/issue/{key}", params={"fields": _EPIC_FIELDS})
    if response.status_code == 404:
        msg = f"The issue {key!r} does not exist in Jira, or is not visible."
        raise RecordError(msg, service="jira", endpoint=f"{API}/issue/{key}")
    raise_for_status(response, f"read the issue {key!r}")
    issue: dict[str, Any] = client.json(response)
    fields = issue.get("fields") or {}
    kind = (fields.get("issuetype") or {}).get("name")
    home = (fields.get("project") or {}).get("key")
    if kind != "Epic" or home != project:
        msg = (
            f"The issue {key!r} is a {kind or 'issue'} of {home!r}, "
            f"not an epic of {project!r}."
        )
        raise RecordError(msg, service="jira", endpoint=f"{API}/issue/{key}")
    return issue


def deal_epic_changes(
    epic: dict[str, Any], params: UpdateProjectParams
) -> dict[str, Any]:
    """Return the fields that make a deal's epic as asked; empty when it already is."""
    fields = epic.get("fields") or {}
    changes: dict[str, Any] = {}
    if params.title is not None and fields.get("summary") != params.title:
        changes["summary"] = params.title
    description = fields.get("description")
    budget = read_budget(document_text(description))
    wanted = {**budget, **budget_values(params)}
    if wanted != budget:
        changes["description"] = with_budget_paragraph(description, wanted)
    return changes


def milestone_epic_changes(
    epic: dict[str, Any], params: UpdateMilestoneParams
) -> dict[str, Any]:
    """Return the fields that make a milestone's epic as asked; empty when it is."""
    fields = epic.get("fields") or {}
    changes: dict[str, Any] = {}
    if params.due is not None and fields.get("duedate") != params.due.isoformat():
        changes["duedate"] = params.due.isoformat()
    if params.name is not None and fields.get("summary") != params.name:
        changes["summary"] = params.name
    return changes


async def edit_issue(
    connector: JiraConnector, key: str, fields: dict[str, Any]
) -> None:
    """Set ``fields`` of the issue ``key`` with one ``PUT /issue/{key}``."""
    response = await connector.client.put(f"{API}/issue/{key}", json={"fields": fields})
    raise_for_status(response, f"edit the issue {key!r}")


def milestone_epic_result(epic: dict[str, Any]) -> ActionResult:
    """Return a milestone's epic as ``update_milestone`` reports it."""
    due = (epic.get("fields") or {}).get("duedate")
    return ActionResult(
        external_id=str(epic["key"]), data={"kind": "epic", "duedate": due}
    )
