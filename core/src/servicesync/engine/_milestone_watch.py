"""Which milestones of a project were reached, and which are due later than before.

Each milestone keeps two bases beside the synced fields: its due date and
whether it was reached, as last read from the delivery tool. A milestone
reached since is to be told on the deal's timeline; one due later than its
base slipped, unless servicesync moved it itself (carrying a change of the
deal's delivery date), which the caller says through ``moved``. A project
without milestones has its own end date watched the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from servicesync.engine._delivery_view import MilestoneView, ProjectView
from servicesync.store._bases import BaseValues

__all__ = ["MilestoneWatch", "Slip", "reached_key", "watch_milestones"]

#: The base of a project's own end date, when it has no milestones.
PROJECT_DUE = "project:due"


@dataclass(frozen=True)
class Slip:
    """A due date that moved later: of a milestone, or (``None``) of the project."""

    milestone: str | None
    previous: str
    new: str


@dataclass
class MilestoneWatch:
    """What watching a project's milestones found.

    Attributes:
        reached: milestones reached since last told, to tell the deal of.
        slips: due dates that moved later.
        bases: the milestones' new bases, to store once the deal was told.
    """

    reached: list[MilestoneView] = field(default_factory=list)
    slips: list[Slip] = field(default_factory=list)
    bases: dict[str, BaseValues] = field(default_factory=dict)


def reached_key(milestone: MilestoneView) -> str:
    """Return the name of the base saying whether ``milestone`` was reached."""
    return f"milestone:{milestone.external_id}:reached"


def watch_milestones(
    view: ProjectView, bases: Mapping[str, BaseValues], moved: Mapping[str, date]
) -> MilestoneWatch:
    """Compare the project's milestones with their bases.

    Args:
        view: the project as the delivery tool has it.
        bases: the pair's bases, by name.
        moved: the milestones servicesync moved in this pass, to their new
            due dates (which ``view`` does not show yet).
    """
    found = MilestoneWatch()
    for milestone in view.milestones:
        due_key = f"milestone:{milestone.external_id}:due"
        before = bases.get(due_key)
        due: date | None = milestone.due
        if milestone.external_id in moved:
            due = moved[milestone.external_id]
        else:
            _note_slip(found, milestone.name, before, due)
        found.bases[due_key] = _due_base(before, due)
        told = bases.get(reached_key(milestone))
        if milestone.reached and (told is None or told.delivery != "yes"):
            found.reached.append(milestone)
        flag = "yes" if milestone.reached else "no"
        found.bases[reached_key(milestone)] = BaseValues(None, flag)
    if not view.milestones and view.end is not None:
        before = bases.get(PROJECT_DUE)
        _note_slip(found, None, before, view.end)
        found.bases[PROJECT_DUE] = _due_base(before, view.end)
    return found


def _note_slip(
    found: MilestoneWatch,
    milestone: str | None,
    before: BaseValues | None,
    due: date | None,
) -> None:
    previous = before.delivery if before else None
    if previous is not None and due is not None and due.isoformat() > previous:
        found.slips.append(Slip(milestone, previous, due.isoformat()))


def _due_base(before: BaseValues | None, due: date | None) -> BaseValues:
    revision = before.revision if before else 0
    return BaseValues(None, due.isoformat() if due else None, revision)
