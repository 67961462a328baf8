"""The budget line and the moves of a milestone that is due with its last task."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from servicesync_sdk.base import (
    MilestoneMoves,
    UpdateProjectParams,
    budget_values,
    pending_moves,
    read_budget,
    send_moves,
    shifted_dues,
    with_budget,
)
from servicesync_sdk.testing import MemoryPluginState

DUES = {"a": date(2026, 3, 2), "b": date(2026, 3, 5), "c": date(2026, 3, 10)}


def test_with_budget_replaces_the_line_in_place_and_keeps_the_rest() -> None:
    text = "Intro\n[servicesync budget] amount: 1.00\n[servicesync:ss-token]"

    changed = with_budget(text, {"amount": "2.00", "client": "ACME  Ltd"})

    assert changed.splitlines() == [
        "Intro",
        "[servicesync budget] amount: 2.00; client: ACME Ltd",
        "[servicesync:ss-token]",
    ]
    assert read_budget(changed) == {"amount": "2.00", "client": "ACME Ltd"}


def test_with_budget_adds_the_line_at_the_end_of_text_without_one() -> None:
    assert with_budget("", {"currency": "EUR"}) == "[servicesync budget] currency: EUR"
    assert read_budget("Intro\nno budget here") == {}


def test_budget_values_writes_amounts_and_hours_with_two_decimals() -> None:
    params = UpdateProjectParams(
        project_key="P", amount=Decimal("1200.5"), scope=Decimal(40), currency="EUR"
    )

    assert budget_values(params) == {
        "amount": "1200.50",
        "currency": "EUR",
        "scope": "40.00",
    }


def test_shifted_dues_move_every_date_as_far_as_the_latest() -> None:
    assert shifted_dues(DUES, date(2026, 3, 17)) == {
        "a": date(2026, 3, 9),
        "b": date(2026, 3, 12),
        "c": date(2026, 3, 17),
    }
    with pytest.raises(ValueError, match="no dated task"):
        shifted_dues({}, date(2026, 3, 17))


def test_pending_moves_skip_what_is_done_or_gone_and_end_with_the_latest() -> None:
    planned = {"a": date(2026, 3, 9), "b": date(2026, 3, 12), "c": date(2026, 3, 17)}
    now = {"c": date(2026, 3, 10), "a": date(2026, 3, 9), "x": None}

    assert pending_moves(now, planned) == [("c", date(2026, 3, 17))]
    assert pending_moves({**DUES}, planned) == sorted(
        planned.items(), key=lambda move: move[1]
    )


def test_milestone_moves_keep_the_first_plan_per_key() -> None:
    state = MemoryPluginState()
    first = MilestoneMoves(state, "lists").plan("flow:1:m", DUES, date(2026, 3, 17))
    half_moved = {**DUES, "a": date(2026, 3, 9)}

    again = MilestoneMoves(state, "lists").plan(
        "flow:1:m", half_moved, date(2026, 3, 17)
    )

    assert again == first
    assert MilestoneMoves(state, "lists").planned("flow:1:other") is None
    assert MilestoneMoves(state, "sections").planned("flow:1:m") is None


PLANNED = {
    "a": date(2026, 3, 9),
    "b": date(2026, 3, 12),
    "c": date(2026, 3, 17),
    "d": date(2026, 3, 17),
}


class Tool:
    """Takes moves in calls, refusing the items named in ``refuse``."""

    def __init__(self, *refuse: str) -> None:
        self.refuse = set(refuse)
        self.calls: list[list[str]] = []

    async def send(self, moves: list[tuple[str, date]]) -> dict[str, str]:
        self.calls.append([item for item, _ in moves])
        return {item: "refused" for item, _ in moves if item in self.refuse}


async def test_send_moves_sends_the_end_last_in_calls_of_its_own() -> None:
    tool = Tool()

    refused = await send_moves(sorted(PLANNED.items()), PLANNED, tool.send, per_call=10)

    assert refused == {}
    assert tool.calls == [["a", "b"], ["c", "d"]]


async def test_send_moves_holds_the_end_back_after_a_refusal() -> None:
    tool = Tool("a")

    refused = await send_moves(sorted(PLANNED.items()), PLANNED, tool.send)

    assert refused == {"a": "refused"}
    assert tool.calls == [["a"], ["b"]]


async def test_send_moves_goes_on_with_the_end_after_a_refusal_there() -> None:
    tool = Tool("c")

    refused = await send_moves(sorted(PLANNED.items()), PLANNED, tool.send)

    assert refused == {"c": "refused"}
    assert tool.calls == [["a"], ["b"], ["c"], ["d"]]
