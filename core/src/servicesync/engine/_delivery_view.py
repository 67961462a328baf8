"""What a delivery tool says about a project, in terms every tool shares.

A delivery connector takes part in two-way consistency by turning each record
its streams read into a :class:`DeliveryItem`: the project itself, one of its
milestones, or one of its tasks (:class:`DeliveryView`). The engine keeps the
items of every linked project and sums them up into a :class:`ProjectView`:
tasks done versus total, each milestone's standing, the project's state and
its delivery date. That is all a plugin writes for the read side; the core
does the rest, whichever tool the project lives in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol, runtime_checkable

from servicesync.domain import ProjectStatus

__all__ = [
    "DeliveryItem",
    "DeliveryView",
    "MilestoneView",
    "ProjectView",
    "item_from_data",
    "item_to_data",
    "project_view",
]

#: What an item is a part of a project as.
ItemKind = Literal["project", "milestone", "task"]


@dataclass(frozen=True)
class DeliveryItem:
    """One record of a delivery tool, as far as a project's standing goes.

    Attributes:
        kind: ``project``, ``milestone`` or ``task``.
        external_id: the item's id in the tool.
        project: the key of the project it belongs to, as the tool's
            ``create_project`` action reported it (the key the store links);
            for a project, its own key.
        name: the project's or milestone's name, as servicesync gave it
            (without anything the tool adds, such as Jira's key suffix).
        done: a task done, a milestone reached (released, completed).
        started: a task under way but not done.
        due: a task's or milestone's due date; a project's end. A milestone
            without one is due when its last dated task is.
        milestones: the ids of the milestones a task counts towards.
        done_count: where the tool sums tasks up itself, the tasks done: of
            a milestone, or (for a ``task`` item standing for several) of
            the tasks it stands for.
        total_count: ... and the tasks in all.
        state: a project's state when the tool says it outright
            (``on_hold`` for a project marked lost, ``cancelled`` once
            archived, ``done`` when completed); else ``None``, and the state
            follows from its tasks.
        values: what the tool keeps of the deal's commercial fields on the
            project, by synced field name (``title``, ``amount``,
            ``currency``, ``client``, ``scope``), as text.
    """

    kind: ItemKind
    external_id: str
    project: str
    name: str | None = None
    done: bool | None = None
    started: bool = False
    due: date | None = None
    milestones: tuple[str, ...] = ()
    done_count: int | None = None
    total_count: int | None = None
    state: ProjectStatus | None = None
    values: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class DeliveryView(Protocol):
    """A delivery connector that can read its records as :class:`DeliveryItem`."""

    def delivery_item(
        self, stream: str, payload: Mapping[str, Any]
    ) -> DeliveryItem | None:
        """Return what a record of ``stream`` says of a project, or ``None``.

        Called for every record the connection's streams read; it must not
        call the service (the connection's plugin state may be used, to
        remember what one stream tells of another's records). ``None``
        means the record is no part of a project two-way consistency
        follows.
        """
        ...


@dataclass(frozen=True)
class MilestoneView:
    """Where one milestone stands."""

    external_id: str
    name: str
    due: date | None
    done: int
    total: int
    reached: bool


@dataclass(frozen=True)
class ProjectView:
    """Where a project stands, summed up from its items."""

    key: str
    state: ProjectStatus
    done: int
    total: int
    milestones: tuple[MilestoneView, ...]
    values: Mapping[str, str]
    end: date | None

    @property
    def percent(self) -> int:
        """The share of tasks done, in whole percent; 0 with no tasks."""
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def delivery_date(self) -> date | None:
        """The latest milestone due date, or the project's own end."""
        dates = [m.due for m in self.milestones if m.due is not None]
        return max(dates) if dates else self.end

    def next_milestone(self) -> MilestoneView | None:
        """The first milestone not reached yet, by due date."""
        open_ones = [m for m in self.milestones if not m.reached]
        open_ones.sort(key=lambda m: (m.due is None, m.due or date.min, m.name))
        return open_ones[0] if open_ones else None


def project_view(key: str, items: Iterable[DeliveryItem]) -> ProjectView | None:
    """Sum up a project's items; ``None`` when the project itself was never read."""
    items = list(items)
    project = next((i for i in items if i.kind == "project"), None)
    if project is None:
        return None
    tasks = [i for i in items if i.kind == "task"]
    milestones = tuple(
        _milestone(m, tasks)
        for m in sorted(
            (i for i in items if i.kind == "milestone"),
            key=lambda m: (m.due is None, m.due or date.min, m.external_id),
        )
    )
    done, total = _tally(items)
    return ProjectView(
        key=key,
        state=_state(project, tasks, done, total),
        done=done,
        total=total,
        milestones=milestones,
        values=dict(project.values),
        end=project.due,
    )


def _milestone(item: DeliveryItem, tasks: list[DeliveryItem]) -> MilestoneView:
    mine = [t for t in tasks if item.external_id in t.milestones]
    done = sum(1 for t in mine if t.done)
    total = len(mine)
    if item.total_count is not None:
        # The tool counts the milestone's tasks itself (they are no items).
        done, total = item.done_count or 0, item.total_count
    reached = bool(item.done) or (total > 0 and done == total)
    # A milestone without a date of its own (a Trello list) is due when its
    # last dated task is, as the tools that sum up report it themselves.
    due = item.due or max((t.due for t in mine if t.due), default=None)
    name = item.name or item.external_id
    return MilestoneView(item.external_id, name, due, done, total, reached)


def _tally(items: list[DeliveryItem]) -> tuple[int, int]:
    """Return tasks done and in all, counting the tallies of tools that sum up."""
    done = total = 0
    for item in items:
        if item.total_count is not None:
            done += item.done_count or 0
            total += item.total_count
        elif item.kind == "task":
            done += bool(item.done)
            total += 1
    return done, total


def _state(
    project: DeliveryItem, tasks: list[DeliveryItem], done: int, total: int
) -> ProjectStatus:
    if project.state is not None:
        return project.state
    if total and done == total:
        return ProjectStatus.DONE
    if done or any(t.started for t in tasks):
        return ProjectStatus.ACTIVE
    return ProjectStatus.PLANNED


def item_to_data(item: DeliveryItem) -> dict[str, Any]:
    """Return an item as the JSON the store keeps."""
    return {
        "kind": item.kind,
        "external_id": item.external_id,
        "project": item.project,
        "name": item.name,
        "done": item.done,
        "started": item.started,
        "due": item.due.isoformat() if item.due else None,
        "milestones": list(item.milestones),
        "done_count": item.done_count,
        "total_count": item.total_count,
        "state": item.state.value if item.state else None,
        "values": dict(item.values),
    }


def item_from_data(data: Mapping[str, Any]) -> DeliveryItem:
    """Return the item the store kept as :func:`item_to_data` wrote it."""
    return DeliveryItem(
        kind=data["kind"],
        external_id=data["external_id"],
        project=data["project"],
        name=data.get("name"),
        done=data.get("done"),
        started=bool(data.get("started")),
        due=date.fromisoformat(data["due"]) if data.get("due") else None,
        milestones=tuple(data.get("milestones") or ()),
        done_count=data.get("done_count"),
        total_count=data.get("total_count"),
        state=ProjectStatus(data["state"]) if data.get("state") else None,
        values=dict(data.get("values") or {}),
    )
