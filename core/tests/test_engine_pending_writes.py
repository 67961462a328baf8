"""Writes a stopped sync left pending are settled by looking, and moves finished.

``settle_pending`` asks each pending write's ``find`` and never writes;
``MilestoneMover`` keeps a plan of milestone moves in the journal, so that a
repeat makes only the moves not made yet, each under the key it was planned
with.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel
from servicesync.contract import Action, ActionResult
from servicesync.engine._actions import perform
from servicesync.engine._milestone_moves import MilestoneMover
from servicesync.engine._pending_writes import settle_pending
from servicesync.errors import ServiceUnavailable
from servicesync.store import Store


class Rename(BaseModel):
    name: str


class RenameProject(Action[Rename]):
    """Renames a pretend project; ``find`` sees whether it bears the name."""

    name = "rename"
    params_model = Rename

    def __init__(self) -> None:
        self.current = "Old"
        self.unreachable = False
        self.writes = 0

    async def find(self, dedup_key: str, params: Rename) -> ActionResult | None:
        if self.unreachable:
            raise ServiceUnavailable("down for maintenance", service="tool")
        return ActionResult(external_id="p1") if self.current == params.name else None

    async def execute(self, dedup_key: str, params: Rename) -> ActionResult:
        self.writes += 1
        self.current = params.name
        return ActionResult(external_id="p1")


class Tool:
    """A connector as far as ``settle_pending`` looks: its actions."""

    def __init__(self, action: RenameProject) -> None:
        self.action = action

    def actions(self) -> Mapping[str, Action[Any]]:
        return {"rename": self.action}


async def settle(store: Store, action: RenameProject) -> int:
    """Settle deal d1's pending writes, as two-way consistency does first."""
    stopped = store.journal_pending("flow:d1:")
    return await settle_pending(store, stopped, {"tool": Tool(action)})


def pending(store: Store, key: str, name: str) -> None:
    """Leave a rename pending, as a sync killed before its confirmation does."""
    store.journal_begin(key, "tool", "rename", {"name": name})


async def test_a_pending_write_that_landed_is_confirmed_without_writing(
    store: Store,
) -> None:
    action = RenameProject()
    action.current = "New"  # the killed sync's write reached the tool
    pending(store, "flow:d1:two-way:project:a", "New")

    settled = await settle_pending(
        store, store.journal_pending("flow:d1:"), {"tool": Tool(action)}
    )

    entry = store.journal_find("flow:d1:two-way:project:a")
    assert settled == 1 and action.writes == 0
    assert entry is not None and entry.status == "confirmed"


async def test_a_pending_write_not_found_is_superseded_not_sent(store: Store) -> None:
    action = RenameProject()
    pending(store, "flow:d1:two-way:project:a", "New")
    pending(store, "flow:d2:two-way:project:b", "Other")

    await settle_pending(
        store, store.journal_pending("flow:d1:"), {"tool": Tool(action)}
    )

    mine = store.journal_find("flow:d1:two-way:project:a")
    other = store.journal_find("flow:d2:two-way:project:b")
    assert action.writes == 0
    assert mine is not None and mine.status == "superseded"
    assert mine.error is not None and "overtaken" in mine.error
    assert other is not None and other.status == "pending"


async def test_a_superseded_write_decided_again_is_made(store: Store) -> None:
    action = RenameProject()
    key = "flow:d1:two-way:project:a"
    pending(store, key, "New")
    await settle_pending(
        store, store.journal_pending("flow:d1:"), {"tool": Tool(action)}
    )

    await perform(store, "tool", action, key, Rename(name="New"))

    entry = store.journal_find(key)
    assert action.current == "New" and action.writes == 1
    assert entry is not None and entry.status == "confirmed"


async def test_a_write_that_cannot_be_looked_up_stays_pending(store: Store) -> None:
    action = RenameProject()
    action.unreachable = True
    pending(store, "flow:d1:two-way:project:a", "New")

    settled = await settle_pending(
        store, store.journal_pending("flow:d1:"), {"tool": Tool(action)}
    )

    entry = store.journal_find("flow:d1:two-way:project:a")
    assert settled == 0
    assert entry is not None and entry.status == "pending"


class Versions:
    """Milestones of a pretend tool, moved one at a time."""

    def __init__(self, refuse: str | None = None) -> None:
        self.dues = {"m1": date(2026, 3, 1), "m2": date(2026, 3, 20)}
        self.refuse = refuse
        self.keys: list[str] = []

    async def send(self, milestone: str, key: str, due: date) -> bool:
        self.keys.append(key)
        if milestone == self.refuse:
            return False
        self.dues[milestone] = due
        return True


def key_of(milestone: str, due: date) -> str:
    return f"flow:d1:two-way:milestone:{milestone}:{due.isoformat()}"


@pytest.mark.parametrize("refused", ["m1", "m2"])
async def test_a_half_made_move_is_finished_from_its_plan(
    store: Store, refused: str
) -> None:
    tool = Versions(refuse=refused)
    mover = MilestoneMover(store, "tool")
    targets = {"m1": date(2026, 3, 15), "m2": date(2026, 4, 3)}
    plan = mover.plan("flow:d1:two-way:moves:x", "P", 3, targets)

    moved, done = await mover.carry_out(plan, key_of, tool.send)
    [again] = mover.pending("flow:d1:")
    tool.refuse = None
    finished, done_now = await mover.carry_out(again, key_of, tool.send)

    assert not done and done_now
    assert again == plan
    assert tool.dues == targets
    assert {**moved, **finished} == targets
    # The latest goes last, each under its planned key; m1 after a refusal
    # of m1 is asked again, never m2 before m1.
    assert tool.keys[0] == key_of("m1", date(2026, 3, 15))
    assert tool.keys[-1] == key_of("m2", date(2026, 4, 3))
    assert mover.pending("flow:d1:") == []
    entry = store.journal_find("flow:d1:two-way:moves:x")
    assert entry is not None and entry.status == "confirmed"
