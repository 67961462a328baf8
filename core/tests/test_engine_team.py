from __future__ import annotations

from datetime import date
from decimal import Decimal

from servicesync.engine import Candidate, RoleNeed, choose_team
from servicesync.engine._team import Booking

START, END = date(2026, 3, 2), date(2026, 4, 30)


def person(name: str, level: int, capacity: int = 40, booked: int = 0) -> Candidate:
    bookings = (
        [Booking(date(2026, 3, 1), date(2026, 5, 1), Decimal(booked))] if booked else []
    )
    return Candidate(
        expert_id=name,
        email=f"{name}@example.com",
        name=name.title(),
        weekly_capacity=Decimal(capacity),
        levels={"bi": [(date(2020, 1, 1), 1), (date(2025, 1, 1), level)]},
        bookings=bookings,
    )


def test_choose_team_ranks_by_free_capacity() -> None:
    needs = [RoleNeed("analyst", "bi", 3)]

    choice = choose_team(
        needs, [person("ann", 4, booked=30), person("bob", 3)], START, END
    )

    assert [m.expert_id for m in choice.members] == ["bob"]
    assert choice.passed_over[0].expert_id == "ann"
    assert "already filled" in choice.passed_over[0].reason


def test_choose_team_explains_a_level_too_low() -> None:
    choice = choose_team([RoleNeed("lead", "bi", 4)], [person("cid", 3)], START, END)

    assert choice.members == []
    assert choice.unfilled == ["lead"]
    assert "below the 4 needed" in choice.passed_over[0].reason


def test_choose_team_reads_level_history_on_start_date() -> None:
    junior_then = Candidate(
        expert_id="dee",
        email="dee@example.com",
        name="Dee",
        weekly_capacity=Decimal(40),
        levels={"bi": [(date(2020, 1, 1), 2), (date(2026, 6, 1), 5)]},
    )

    choice = choose_team([RoleNeed("lead", "bi", 4)], [junior_then], START, END)

    assert choice.unfilled == ["lead"]


def test_choose_team_pinned_person_comes_first() -> None:
    needs = [RoleNeed("analyst", "bi", 3)]

    choice = choose_team(
        needs,
        [person("ann", 5), person("bob", 3, booked=35)],
        START,
        END,
        pinned={"analyst": ["bob@example.com"]},
    )

    assert [(m.expert_id, m.reason) for m in choice.members] == [
        ("bob", "pinned in the config")
    ]


def test_choose_team_skips_fully_booked() -> None:
    choice = choose_team(
        [RoleNeed("analyst", "bi", 3)], [person("eve", 4, booked=40)], START, END
    )

    assert choice.unfilled == ["analyst"]
    assert choice.passed_over[0].reason == "no free capacity over the dates"
