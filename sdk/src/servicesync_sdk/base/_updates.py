"""What two-way consistency asks a delivery tool to change, and how dates move.

Two-way consistency carries a won deal's changes to its project through two
actions every delivery connector may offer: ``update_project`` (the title
and the budget) and ``update_milestone`` (a milestone's due date or name).
Their parameters are the same in every tool, so they are defined once here.

A tool whose milestones have no date of their own (an Asana section, a
Trello list) has a milestone due when its last dated task is.
:class:`MilestoneMoves` moves such a milestone by moving every dated task
by as much as the last one must move, and remembers the plan so that an
attempt repeated after a failure half way does not move a task twice.
:func:`send_moves` makes the moves in an order that keeps the milestone
from showing its new date while any other task is left behind, and tells
which tasks the tool refused, so that the action can report them as
failed and the next attempt finish the plan.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal

from pydantic import BaseModel
from servicesync.contract import PluginState
from servicesync.dedup import dedup_token

__all__ = [
    "MilestoneMoves",
    "UpdateMilestoneParams",
    "UpdateProjectParams",
    "budget_values",
    "pending_moves",
    "send_moves",
    "shifted_dues",
]

_CENTS = Decimal("0.01")


class UpdateProjectParams(BaseModel):
    """What to change of a project; a field left out stays as it is.

    The field names are those of two-way consistency's synced fields.
    """

    project_key: str
    title: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    scope: Decimal | None = None
    client: str | None = None


class UpdateMilestoneParams(BaseModel):
    """What to change of a milestone; a field left out stays as it is."""

    project_key: str
    milestone_id: str
    due: date | None = None
    name: str | None = None


def budget_values(params: UpdateProjectParams) -> dict[str, str]:
    """Return the budget line's fields ``params`` sets, as the line writes them.

    Example:
        >>> budget_values(UpdateProjectParams(project_key="P", amount=1200.5))
        {'amount': '1200.50'}
    """
    values: dict[str, str] = {}
    if params.amount is not None:
        values["amount"] = str(params.amount.quantize(_CENTS))
    if params.currency is not None:
        values["currency"] = params.currency
    if params.scope is not None:
        values["scope"] = str(params.scope.quantize(_CENTS))
    if params.client is not None:
        values["client"] = params.client
    return values


def shifted_dues(dues: Mapping[str, date], due: date) -> dict[str, date]:
    """Move every date by as much as the latest must move to fall on ``due``.

    Example:
        >>> shifted_dues({"a": date(2026, 3, 1), "b": date(2026, 3, 9)},
        ...              date(2026, 3, 16))["a"]
        datetime.date(2026, 3, 8)

    Raises:
        ValueError: ``dues`` is empty, so there is no latest date to move.
    """
    if not dues:
        raise ValueError("There is no dated task to move.")
    shift = due - max(dues.values())
    return {item: day + shift for item, day in dues.items()}


def pending_moves(
    dues: Mapping[str, date | None], planned: Mapping[str, date]
) -> list[tuple[str, date]]:
    """Return the planned moves not made yet, the latest date last.

    A task planned but gone since is left out. Writing the latest last
    means that until every other task moved, the milestone does not show
    its new due date (the latest), though a move later can show a date in
    between.
    """
    moves = [
        (item, day)
        for item, day in planned.items()
        if item in dues and dues[item] != day
    ]
    return sorted(moves, key=lambda move: (move[1], move[0]))


#: Sends some moves to the tool; returns the refused ones, item -> reason.
MoveSender = Callable[[list[tuple[str, date]]], Awaitable[Mapping[str, str]]]


async def send_moves(
    pending: Sequence[tuple[str, date]],
    planned: Mapping[str, date],
    send: MoveSender,
    *,
    per_call: int = 1,
) -> dict[str, str]:
    """Make the pending moves, ``per_call`` to a call; return those refused.

    The moves onto the planned end (the milestone's new due date) are sent
    last, in calls of their own, and only when no other move was refused:
    until they are made the milestone does not show its new date (moved
    later, it can show one in between, once a task passes the old end).
    A refused move does not stop the others; an error ``send`` raises stops
    everything. The action reports the refused moves as failed, which keeps
    its write pending, so that the next attempt finishes the plan.

    Example:
        With ``a`` planned for 9 March and ``b`` for 17 March (the end), a
        refusal of ``a`` holds ``b`` back: ``send`` is called for ``a`` only,
        and the answer is ``{"a": <the tool's reason>}``.
    """
    end = max(planned.values(), default=None)
    leading = [move for move in pending if move[1] != end]
    closing = [move for move in pending if move[1] == end]
    refused: dict[str, str] = {}
    for group in (leading, closing):
        if refused:
            break
        for start in range(0, len(group), per_call):
            refused.update(await send(group[start : start + per_call]))
    return refused


class MilestoneMoves:
    """The planned due dates of a milestone's tasks, per deduplication key.

    The plan is made from the dates the tool shows on the first attempt and
    kept in the connection's plugin state before anything is written. A
    repeated attempt finishes that plan rather than shifting the tasks again
    from where a half-done attempt left them.

    Args:
        state: the connection's plugin state.
        kind: what the milestones are (``sections``, ``lists``), to name
            the entry.
    """

    def __init__(self, state: PluginState, kind: str) -> None:
        self.state = state
        self.kind = kind

    def planned(self, dedup_key: str) -> dict[str, date] | None:
        """Return the plan made for ``dedup_key``, or ``None`` before any."""
        raw = self.state.get(self._key(dedup_key))
        if raw is None:
            return None
        return {item: date.fromisoformat(day) for item, day in json.loads(raw).items()}

    def plan(
        self, dedup_key: str, dues: Mapping[str, date], due: date
    ) -> dict[str, date]:
        """Return the plan for ``dedup_key``, making and keeping it the first time.

        Raises:
            ValueError: no plan was made yet and ``dues`` is empty.
        """
        found = self.planned(dedup_key)
        if found is not None:
            return found
        planned = shifted_dues(dues, due)
        text = json.dumps({item: day.isoformat() for item, day in planned.items()})
        self.state.put(self._key(dedup_key), text)
        return planned

    def _key(self, dedup_key: str) -> str:
        return f"{self.kind}:moves:{dedup_token(dedup_key)}"
