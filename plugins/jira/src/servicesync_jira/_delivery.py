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
the Jira project's key; in epic mode, the deal epic's key. In epic mode
every deal shares one project, so its records say whose they are this way:

* the deal's epic is the project itself, its summary the title and a
  paragraph of its description the budget line;
* a task is the deal's through its parent: the deal epic, or a milestone
  epic of the deal;
* a version or a milestone epic belongs to the deal epic it was made for,
  which ``create_milestone`` remembers in the connection's state
  (:class:`MilestoneOwners`), since neither names a deal epic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from servicesync.contract import PluginState
from servicesync.domain import ProjectStatus
from servicesync.engine import DeliveryItem
from servicesync_sdk.base import read_budget

from servicesync_jira._actions_update import project_title
from servicesync_jira._config import JiraConfig
from servicesync_jira._document import document_text
from servicesync_jira._projects import marked_line

__all__ = ["MilestoneOwners", "delivery_item"]

#: Returns the deal epic a version id or milestone epic key was made for.
OwnerOf = Callable[[str], str | None]


class MilestoneOwners:
    """Which deal epic each milestone of the shared project was made for."""

    def __init__(self, state: PluginState) -> None:
        self.state = state

    def remember(self, milestone: str, deal_epic: str) -> None:
        """Record that ``milestone`` (a version id or epic key) is ``deal_epic``'s."""
        if self.state.get(_owner_key(milestone)) != deal_epic:
            self.state.put(_owner_key(milestone), deal_epic)

    def of(self, milestone: str) -> str | None:
        """Return the deal epic ``milestone`` was made for, if this connection knows."""
        return self.state.get(_owner_key(milestone))


def _owner_key(milestone: str) -> str:
    return f"milestone-of:{milestone}"


def delivery_item(
    config: JiraConfig,
    stream: str,
    payload: Mapping[str, Any],
    owner_of: OwnerOf = lambda _milestone: None,
) -> DeliveryItem | None:
    """Return what a record of ``stream`` says of a project, or ``None``."""
    if config.mode == "epic":
        return _in_epic_mode(stream, payload, owner_of)
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


def _in_epic_mode(
    stream: str, payload: Mapping[str, Any], owner_of: OwnerOf
) -> DeliveryItem | None:
    """Read a record of the shared project as a part of one deal's epic."""
    if stream == "versions":
        owner = owner_of(str(payload["id"]))
        return None if owner is None else _version({**payload, "project": owner})
    if stream != "issues":
        return None  # the shared project is no deal's project
    fields = payload.get("fields") or {}
    key = str(payload["key"])
    if (fields.get("issuetype") or {}).get("name") == "Epic":
        owner = owner_of(key)
        if owner is None:
            return _deal_epic(payload)
        return _issue(payload, project=owner)
    parent = (fields.get("parent") or {}).get("key")
    if not parent:
        return None
    return _issue(payload, project=owner_of(str(parent)) or str(parent))


def _deal_epic(payload: Mapping[str, Any]) -> DeliveryItem:
    """A deal's epic, read as the deal's project."""
    fields = payload.get("fields") or {}
    key = str(payload["key"])
    text = document_text(fields.get("description"))
    values = dict(read_budget(text))
    values["title"] = str(fields.get("summary") or "")
    return DeliveryItem(
        kind="project",
        external_id=key,
        project=key,
        name=values["title"],
        state=ProjectStatus.ON_HOLD if marked_line(text) is not None else None,
        values=values,
        due=_day(fields.get("duedate")),
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


def _issue(
    payload: Mapping[str, Any], project: str | None = None
) -> DeliveryItem | None:
    """An epic as a milestone, any other issue as a task, of ``project``.

    ``project`` defaults to the issue's own Jira project, as in project mode.
    """
    fields = payload.get("fields") or {}
    project = project or (fields.get("project") or {}).get("key")
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
