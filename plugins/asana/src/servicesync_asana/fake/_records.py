"""The records of the fake workspace, and how Asana writes times."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "DEFAULT_SECTION",
    "EventSink",
    "FakeJob",
    "FakeProject",
    "FakeSection",
    "FakeTask",
    "FakeTemplate",
    "FakeUser",
    "asana_time",
]

#: The name of the section every new project starts with.
DEFAULT_SECTION = "Untitled section"


def asana_time(moment: datetime) -> str:
    """Return ``moment`` as Asana writes times: UTC, milliseconds, ``Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class FakeUser:
    """A person in the workspace."""

    gid: str
    name: str
    email: str


@dataclass
class FakeSection:
    """A section of a project."""

    gid: str
    name: str
    project: str
    created_at: datetime


@dataclass
class FakeProject:
    """A project and the order of its sections and tasks."""

    gid: str
    name: str
    notes: str
    team: str | None
    created_at: datetime
    modified_at: datetime
    owner: str | None = None
    archived: bool = False
    members: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    template: str | None = None


@dataclass
class FakeTask:
    """A task; ``memberships`` pairs each project with the task's section in it."""

    gid: str
    name: str
    notes: str
    created_at: datetime
    modified_at: datetime
    memberships: list[tuple[str, str | None]] = field(default_factory=list)
    assignee: str | None = None
    completed: bool = False
    completed_at: datetime | None = None
    due_on: str | None = None
    due_at: str | None = None
    start_on: str | None = None
    resource_subtype: str = "default_task"


@dataclass
class FakeTemplate:
    """A project template: sections, and tasks named with their section."""

    gid: str
    name: str
    sections: list[str]
    tasks: list[tuple[str, str]]


@dataclass
class FakeJob:
    """An asynchronous instantiation; it succeeds once the clock passes ``ready_at``."""

    gid: str
    project: str
    ready_at: datetime
    subtype: str = "instantiate_project"


#: Called with an event and the gids of the resources that watch it.
EventSink = Callable[[dict[str, Any], set[str]], None]
