"""Reading Asana's records as the parts of a project two-way consistency follows.

* a project (``projects`` stream): its name (without the marker a
  template's project carries) and the fields of its notes' budget line;
  archived is ``cancelled``, completed is ``done``; its due date is its end;
* a section's roll-up (``progress`` stream): a milestone, with the done and
  total tasks Asana's tasks add up to, due when its last task is due;
* the roll-up of the tasks outside any section: tasks that count towards
  the project's progress but towards no milestone.

The deal's project is the project's gid, as ``create_project`` reported it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from servicesync.domain import ProjectStatus
from servicesync.engine import DeliveryItem
from servicesync_sdk.base import read_budget

from servicesync_asana._actions_update import project_title

__all__ = ["delivery_item"]


def delivery_item(stream: str, payload: Mapping[str, Any]) -> DeliveryItem | None:
    """Return what a record of ``stream`` says of a project, or ``None``."""
    if stream == "projects":
        return _project(payload)
    if stream == "progress":
        return _rollup(payload)
    return None


def _project(payload: Mapping[str, Any]) -> DeliveryItem:
    state = None
    if payload.get("archived"):
        state = ProjectStatus.CANCELLED
    elif payload.get("completed"):
        state = ProjectStatus.DONE
    gid = str(payload["gid"])
    values = read_budget(str(payload.get("notes") or ""))
    values["title"] = project_title(str(payload.get("name") or ""))
    return DeliveryItem(
        kind="project",
        external_id=gid,
        project=gid,
        name=values["title"],
        state=state,
        due=_day(payload.get("due_on")),
        values=values,
    )


def _rollup(payload: Mapping[str, Any]) -> DeliveryItem | None:
    project = (payload.get("project") or {}).get("gid")
    if not project:
        return None
    section = payload.get("section")
    done = int(payload.get("done") or 0)
    total = int(payload.get("total") or 0)
    if not section:
        return DeliveryItem(
            kind="task",
            external_id=str(payload["gid"]),
            project=str(project),
            done_count=done,
            total_count=total,
        )
    return DeliveryItem(
        kind="milestone",
        external_id=str(section["gid"]),
        project=str(project),
        name=str(section.get("name") or ""),
        due=_day(payload.get("due_on")),
        done_count=done,
        total_count=total,
    )


def _day(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None
