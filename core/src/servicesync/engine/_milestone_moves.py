"""Moving a project's milestones with the deal's delivery date, as one plan.

Moving a project's milestones is one write per milestone, and a sync stopped
between two of them leaves the project half moved. Read back as it stands,
such a project looks as if someone had moved the first milestones in the
delivery tool (and, when one of them passed the old end, the delivery date
too): deciding afresh from it would move them again by the whole shift, or
take the date in between for a change made in the tool.

So the moves are planned before the first write: every milestone's target
is kept in the action journal under the plan's own key, which is confirmed
once the last milestone moved. A pair with a plan still pending has it
finished first, each move under the key it was planned with (so the journal
finds what was written already and writes only the rest), and what is then
decided for the pair is decided on the project as the plan left it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from servicesync.engine._delivery_view import ProjectView
from servicesync.store import JournalEntry, Store

__all__ = ["MOVE_PLAN", "MilestoneMover", "MovePlan", "plans_in", "with_dues"]

#: What a plan's journal entry names as its action.
MOVE_PLAN = "move_milestones"

#: Sends one milestone's move under its key; false when the tool refused it.
MoveSender = Callable[[str, str, date], Awaitable[bool]]


@dataclass(frozen=True)
class MovePlan:
    """Where each milestone of a project is to be moved, kept under ``key``."""

    key: str
    project_key: str
    revision: int
    targets: Mapping[str, date]

    def params(self) -> dict[str, Any]:
        """The plan as its journal entry keeps it."""
        return {
            "project_key": self.project_key,
            "revision": self.revision,
            "targets": {m: due.isoformat() for m, due in self.targets.items()},
        }

    @classmethod
    def from_params(cls, key: str, params: Mapping[str, Any]) -> MovePlan:
        """Read a plan back from its journal entry."""
        targets = {m: date.fromisoformat(d) for m, d in params["targets"].items()}
        return cls(key, str(params["project_key"]), int(params["revision"]), targets)


class MilestoneMover:
    """Plans a pair's milestone moves in the journal and carries them out.

    Args:
        store: the store whose journal keeps the plans.
        connection: the delivery connection the milestones live in.
    """

    def __init__(self, store: Store, connection: str) -> None:
        self.store = store
        self.connection = connection

    def plan(self, key: str, project_key: str, revision: int,
             targets: Mapping[str, date]) -> MovePlan:  # fmt: skip
        """Keep the moves in the journal under ``key``; return the plan."""
        plan = MovePlan(key, project_key, revision, dict(targets))
        self.store.journal_begin(key, self.connection, MOVE_PLAN, plan.params())
        return plan

    def pending(self, prefix: str) -> list[MovePlan]:
        """Return the plans under ``prefix`` that a stopped sync left unfinished."""
        return plans_in(self.store.journal_pending(prefix, action=MOVE_PLAN))

    async def carry_out(
        self, plan: MovePlan, move_key: Callable[[str, date], str], send: MoveSender
    ) -> tuple[dict[str, date], bool]:
        """Make the plan's moves, the latest date last; confirm it when all are made.

        ``send`` makes each move through the journal, under
        ``move_key(milestone, due)``: the same for the same plan, so that a
        repeat finds what was written. The moves stop at the first refusal:
        until the latest milestone moved, the project's delivery date has not.

        Returns:
            The milestones moved, to their new due dates, and whether the
            plan is done.
        """
        moved: dict[str, date] = {}
        for milestone, due in sorted(plan.targets.items(), key=lambda t: t[1]):
            if not await send(milestone, move_key(milestone, due), due):
                return moved, False
            moved[milestone] = due
        self.store.journal_confirm(plan.key, {"moved": plan.params()["targets"]})
        return moved, True


def plans_in(entries: Iterable[JournalEntry]) -> list[MovePlan]:
    """Return the move plans among pending journal entries, in their order."""
    return [
        MovePlan.from_params(e.dedup_key, e.params)
        for e in entries
        if e.action == MOVE_PLAN
    ]


def with_dues(view: ProjectView, dues: Mapping[str, date]) -> ProjectView:
    """Return ``view`` with the given milestones due on their new dates."""
    if not dues:
        return view
    milestones = tuple(
        dataclasses.replace(m, due=dues.get(m.external_id, m.due))
        for m in view.milestones
    )
    return dataclasses.replace(view, milestones=milestones)
