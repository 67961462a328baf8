"""Choosing a project's team by competencies and free capacity, and saying why.

For each role a service needs, the candidates are the experts who hold the
role's competency at the required level on the project's start date. They are
ranked by their free capacity over the project's dates (weekly capacity minus
the hours already allocated to overlapping projects), then by level. Pinned
people are taken first. Every choice keeps its reason, and every candidate not
taken keeps why not, so a person can check the decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

__all__ = ["Candidate", "Pick", "RoleNeed", "TeamChoice", "choose_team"]


@dataclass(frozen=True)
class RoleNeed:
    """A role a service's team needs."""

    role: str
    competency: str
    min_level: int
    headcount: int = 1
    hours: Decimal = Decimal(0)


@dataclass(frozen=True)
class Booking:
    """Hours a week an expert is already booked between two dates."""

    start: date
    end: date
    hours_per_week: Decimal


@dataclass(frozen=True)
class Candidate:
    """An expert as team selection sees them.

    Attributes:
        levels: per competency, the dated history of levels as
            ``(since, level)`` pairs, in any order.
    """

    expert_id: str
    email: str
    name: str
    weekly_capacity: Decimal
    levels: Mapping[str, Sequence[tuple[date, int]]]
    bookings: Sequence[Booking] = ()
    active: bool = True

    def level_on(self, competency: str, day: date) -> int:
        """Return the level held on ``day``, 0 when none yet."""
        held = [
            (since, level)
            for since, level in self.levels.get(competency, ())
            if since <= day
        ]
        return max(held)[1] if held else 0

    def free_capacity(self, start: date, end: date) -> Decimal:
        """Return weekly hours left over ``start``..``end`` after bookings."""
        booked = sum(
            (
                b.hours_per_week
                for b in self.bookings
                if b.start <= end and b.end >= start
            ),
            Decimal(0),
        )
        return self.weekly_capacity - booked


@dataclass(frozen=True)
class Pick:
    """An expert chosen for a role, or passed over, with the reason."""

    role: str
    expert_id: str
    email: str
    name: str
    reason: str


@dataclass
class TeamChoice:
    """The chosen team, the candidates passed over, and roles left unfilled."""

    members: list[Pick] = field(default_factory=list)
    passed_over: list[Pick] = field(default_factory=list)
    unfilled: list[str] = field(default_factory=list)

    def explanation(self) -> dict[str, list[dict[str, str]] | list[str]]:
        """Return the choice as plain data, fit for storing and showing."""
        return {
            "members": [vars(p) for p in self.members],
            "passed_over": [vars(p) for p in self.passed_over],
            "unfilled": list(self.unfilled),
        }

    @classmethod
    def from_explanation(cls, data: Mapping[str, Any]) -> TeamChoice:
        """Return the choice that :meth:`explanation` turned into ``data``."""
        return cls(
            members=[Pick(**pick) for pick in data.get("members", ())],
            passed_over=[Pick(**pick) for pick in data.get("passed_over", ())],
            unfilled=[str(role) for role in data.get("unfilled", ())],
        )


def choose_team(
    needs: Sequence[RoleNeed],
    candidates: Sequence[Candidate],
    start: date,
    end: date,
    *,
    pinned: Mapping[str, Sequence[str]] | None = None,
) -> TeamChoice:
    """Pick a team for ``needs`` from ``candidates`` over ``start``..``end``.

    An expert fills one role at most. Pinned emails (per role) are taken
    first whatever their level or capacity, and the reason says so.
    """
    choice = TeamChoice()
    taken: set[str] = set()
    by_email = {c.email.lower(): c for c in candidates}
    for need in needs:
        slots = need.headcount
        for email in (pinned or {}).get(need.role, ()):
            person = by_email.get(email.lower())
            if person is None or person.expert_id in taken or slots == 0:
                continue
            choice.members.append(_pick(need, person, "pinned in the config"))
            taken.add(person.expert_id)
            slots -= 1
        ranked = _rank(need, candidates, start, end, choice, taken)
        for person, free in ranked:
            if slots == 0:
                why = f"{free} h/week free, but the role was already filled"
                choice.passed_over.append(_pick(need, person, why))
                continue
            level = person.level_on(need.competency, start)
            reason = (
                f"{need.competency} level {level} (needs {need.min_level}), "
                f"{free} h/week free over the project's dates"
            )
            choice.members.append(_pick(need, person, reason))
            taken.add(person.expert_id)
            slots -= 1
        if slots:
            choice.unfilled.append(need.role)
    return choice


def _rank(
    need: RoleNeed,
    candidates: Sequence[Candidate],
    start: date,
    end: date,
    choice: TeamChoice,
    taken: set[str],
) -> list[tuple[Candidate, Decimal]]:
    fit: list[tuple[Candidate, Decimal]] = []
    for person in candidates:
        if person.expert_id in taken:
            continue
        level = person.level_on(need.competency, start)
        if level == 0:
            continue  # not a candidate at all: no need to explain
        if not person.active:
            choice.passed_over.append(_pick(need, person, "inactive"))
            continue
        if level < need.min_level:
            why = (
                f"{need.competency} level {level} is below the {need.min_level} needed"
            )
            choice.passed_over.append(_pick(need, person, why))
            continue
        free = person.free_capacity(start, end)
        if free <= 0:
            choice.passed_over.append(
                _pick(need, person, "no free capacity over the dates")
            )
            continue
        fit.append((person, free))
    fit.sort(
        key=lambda pf: (-pf[1], -pf[0].level_on(need.competency, start), pf[0].email)
    )
    return fit


def _pick(need: RoleNeed, person: Candidate, reason: str) -> Pick:
    return Pick(need.role, person.expert_id, person.email, person.name, reason)
