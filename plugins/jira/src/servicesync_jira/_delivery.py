"""Reading Jira's records as the parts of a project two-way consistency follows.

* a project (``projects`` stream): its title without the key suffix, the
  budget line's fields, and its state when Jira says it outright: archived is
  ``cancelled``, marked lost is ``on_hold``;
* a version (``versions`` stream): a milestone, due on its release date and
  reached once released;
* an epic (``issues`` stream, with milestones as epics): a milestone, due on
  its due date and reached once done;
* any other issue: a task, done when its status is in the done category,
  counting towards its fix versions and its parent epic.

The deal's project is the key ``create_project`` reported: in project mode,
the Jira project's key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from servicesync.domain import ProjectStatus
from servicesync.engine import DeliveryItem
from servicesync_sdk.base import read_budget

from servicesync_jira._actions_update import project_title
from servicesync_jira._config import JiraConfig
from servicesync_jira._projects import marked_line

__all__ = ["delivery_item"]


def delivery_item(
    config: JiraConfig, stream: str, payload: Mapping[str, Any]
) -> DeliveryItem | None:
    """Return what a record of ``stream`` says of a project, or ``None``."""
    if config.mode == "epic":
        # TODO: in epic mode the deal's project is an epic of a shared
        # project, whose versions and issues belong to every deal; telling
        # them apart needs the epic's children, which the streams do not
        # gather yet.
        return None
    if stream == "projects":
        return _project(payload)
    if stream == "versions":
        return _version(payload)
    if stream == "issues":
        return _issue(payload)
    return None


def _project(payload: Mapping[str, Any]) -> DeliveryItem:
    key = str(payload["key"])
    description = str(payload.get("description") or "")
    values = dict(read_budget(description))
    values["title"] = project_title(str(payload.get("name") or ""), key)
    state = None
    if payload.get("archived"):
        state = ProjectStatus.CANCELLED
    elif marked_line(description) is not None:
        state = ProjectStatus.ON_HOLD
    return DeliveryItem(
        kind="project",
        external_id=str(payload["id"]),
        project=key,
        name=values["title"],
        state=state,
        values=values,
    )


def _version(payload: Mapping[str, Any]) -> DeliveryItem | None:
    project = payload.get("project")
    if not project:
        return None
    return DeliveryItem(
        kind="milestone",
        external_id=str(payload["id"]),
        project=str(project),
        name=str(payload.get("name") or ""),
        done=bool(payload.get("released")),
        due=_day(payload.get("releaseDate")),
    )


def _issue(payload: Mapping[str, Any]) -> DeliveryItem | None:
    fields = payload.get("fields") or {}
    project = (fields.get("project") or {}).get("key")
    if not project:
        return None
    category = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
    if (fields.get("issuetype") or {}).get("name") == "Epic":
        return DeliveryItem(
            kind="milestone",
            external_id=str(payload["key"]),
            project=str(project),
            name=str(fields.get("summary") or ""),
            done=category == "done",
            due=_day(fields.get("duedate")),
        )
    milestones = [str(v["id"]) for v in fields.get("fixVersions") or []]
    if fields.get("parent"):
        milestones.append(str(fields["parent"]["key"]))
    return DeliveryItem(
        kind="task",
        external_id=str(payload["id"]),
        project=str(project),
        done=category == "done",
        started=category == "indeterminate",
        due=_day(fields.get("duedate")),
        milestones=tuple(milestones),
    )


def _day(value: Any) -> date | None:
    if not value:
        return None
    return date.fromisoformat(str(value)[:10])
