"""How far a board's milestones are, from its cards as the cards stream reads them.

A card's status comes from three of its fields: archived (``closed``) cards
are out of the plan; a card is done when its due date is marked complete
(``dueComplete``) or when it sits in a list named as a done list; every
other card is open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["CardStatus", "Progress", "card_status", "milestone_progress"]

CardStatus = Literal["archived", "done", "open"]


@dataclass(frozen=True)
class Progress:
    """Where one list (one milestone) stands.

    Attributes:
        done: cards done.
        total: cards not archived.
        overdue: open cards whose due date has passed.
        members: everyone assigned to a card of the list.
    """

    done: int = 0
    total: int = 0
    overdue: int = 0
    members: frozenset[str] = field(default_factory=frozenset)

    @property
    def ratio(self) -> float:
        """The share done, 0 when the list has no cards."""
        return self.done / self.total if self.total else 0.0


def card_status(
    card: Mapping[str, Any],
    list_names: Mapping[str, str],
    done_lists: Iterable[str] = ("Done",),
) -> CardStatus:
    """Return a card's status from ``closed``, ``dueComplete`` and its list."""
    if card.get("closed"):
        return "archived"
    if card.get("dueComplete"):
        return "done"
    if list_names.get(str(card.get("idList"))) in set(done_lists):
        return "done"
    return "open"


def milestone_progress(
    cards: Iterable[Mapping[str, Any]],
    list_names: Mapping[str, str],
    *,
    now: datetime | None = None,
    done_lists: Iterable[str] = ("Done",),
) -> dict[str, Progress]:
    """Count done and total cards per list id, with overdue cards and members.

    ``list_names`` maps list ids to names (the lists stream's records).
    """
    done_names = tuple(done_lists)
    tallies: dict[str, Progress] = {}
    for card in cards:
        status = card_status(card, list_names, done_names)
        if status == "archived":
            continue
        list_id = str(card.get("idList"))
        before = tallies.get(list_id, Progress())
        tallies[list_id] = Progress(
            done=before.done + (status == "done"),
            total=before.total + 1,
            overdue=before.overdue + (status == "open" and _past_due(card, now)),
            members=before.members | frozenset(card.get("idMembers") or ()),
        )
    return tallies


def _past_due(card: Mapping[str, Any], now: datetime | None) -> bool:
    due = card.get("due")
    if not due or now is None:
        return False
    return datetime.fromisoformat(str(due).replace("Z", "+00:00")) < now
