"""Deciding one field of a deal and its project against its base.

Each field has two sides, the CRM's and the delivery tool's, and a base: the
value each side held when they last agreed, or when servicesync last wrote
it. A side whose value still equals its base did not change; that is how a
value servicesync wrote itself, read back, causes nothing (an echo). Then:

* nothing moved: nothing to do;
* one side moved: the change is carried to the other side when it was made
  on the side that owns the field; made on the other side, it is carried to
  the owner too (``non_owner = "carry"``), or set back to the owner's value
  (``"revert"``, or when the owner's side cannot take it);
* both moved to the same value: they agree again;
* both moved to different values: a conflict. The owner's value is kept and
  written over the other; the conflict is recorded with both values, the
  base and the decision.

The first time a pair is seen there is no base: the owner's value is carried
to the other side where they differ. A side that cannot be written (a CRM
field the config does not name, a value the delivery tool computes) keeps
its own value, which becomes its base, so that it is not tried again until
something moves. An emptied value is never carried: emptying a field on one
side leaves the other as it is.

This module only decides; :mod:`servicesync.engine._two_way` reads the
values, performs the writes through the action journal and stores the bases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from servicesync.config import Side
from servicesync.store._bases import BaseValues

__all__ = ["Decision", "FieldState", "decide"]

#: What a change on the side that does not own a field does.
NonOwnerPolicy = Literal["carry", "revert"]

_SIDE_NAMES: dict[Side, str] = {"crm": "the CRM", "delivery": "the delivery tool"}


@dataclass(frozen=True)
class FieldState:
    """One field of a pair as it stands now, with its base and who owns it."""

    field: str
    owner: Side
    base: BaseValues | None
    crm: str | None
    delivery: str | None
    crm_writable: bool
    delivery_writable: bool

    def value(self, side: Side) -> str | None:
        """Return the side's value."""
        return self.crm if side == "crm" else self.delivery

    def writable(self, side: Side) -> bool:
        """Whether servicesync can write the field on ``side``."""
        return self.crm_writable if side == "crm" else self.delivery_writable


@dataclass(frozen=True)
class Decision:
    """What to do with one field, and the base to keep once it is done.

    Attributes:
        field: the field's name.
        base: the base to store after the writes below succeeded.
        to_crm: the value to write on the CRM side, if any.
        to_delivery: the value to write on the delivery side, if any.
        conflict: both sides moved apart; record it.
        reverted: the side that was set back to the owner's value.
        note: the decision in words, for the deal's timeline and the record.
    """

    field: str
    base: BaseValues
    to_crm: str | None = None
    to_delivery: str | None = None
    conflict: bool = False
    reverted: Side | None = None
    note: str = ""

    @property
    def writes(self) -> bool:
        """Whether the decision writes anything."""
        return self.to_crm is not None or self.to_delivery is not None


def decide(state: FieldState, policy: NonOwnerPolicy) -> Decision:
    """Decide what one field needs; see the module's description for the rules."""
    base = state.base
    if base is None:
        return _first_look(state)
    crm_moved = state.crm != base.crm
    delivery_moved = state.delivery != base.delivery
    if not crm_moved and not delivery_moved:
        return Decision(state.field, base)
    if state.crm == state.delivery:
        return _agreed(state)
    if crm_moved and delivery_moved:
        return _conflict(state)
    moved: Side = "crm" if crm_moved else "delivery"
    owner = state.owner
    if moved == owner or (policy == "carry" and state.writable(owner)):
        return _carry(state, moved)
    return _revert(state, moved)


def _other(side: Side) -> Side:
    return "delivery" if side == "crm" else "crm"


def _revision(state: FieldState) -> int:
    return state.base.revision if state.base else 0


def _agreed(state: FieldState) -> Decision:
    """Both sides hold the same value: it is the new base."""
    base = BaseValues(state.crm, state.delivery, _revision(state))
    return Decision(state.field, base)


def _written(state: FieldState, side: Side, value: str) -> Decision:
    """A decision that writes ``value`` on ``side``, after which both hold it."""
    base = BaseValues(value, value, _revision(state) + 1)
    if side == "crm":
        return Decision(state.field, base, to_crm=value)
    return Decision(state.field, base, to_delivery=value)


def _first_look(state: FieldState) -> Decision:
    """No base yet: carry the owner's value where the other side differs."""
    if state.crm == state.delivery:
        return _agreed(state)
    other = _other(state.owner)
    value = state.value(state.owner)
    if value is None or not state.writable(other):
        return _agreed(state)
    return _written(state, other, value)


def _carry(state: FieldState, moved: Side) -> Decision:
    """Take the moved side's value to the other side, where it can be written."""
    value, other = state.value(moved), _other(moved)
    if value is None or not state.writable(other):
        return _agreed(state)
    return _written(state, other, value)


def _revert(state: FieldState, moved: Side) -> Decision:
    """Set the side that does not own the field back to the owner's value."""
    owner_value = state.value(state.owner)
    if owner_value is None or not state.writable(moved):
        return _agreed(state)
    decision = _written(state, moved, owner_value)
    note = (
        f"{_label(state.field)} was changed to {_shown(state.value(moved))} in "
        f"{_SIDE_NAMES[moved]}, but {_SIDE_NAMES[state.owner]} owns it; it was "
        f"set back to {_shown(owner_value)}. Change it in "
        f"{_SIDE_NAMES[state.owner]} instead."
    )
    return Decision(
        state.field,
        decision.base,
        to_crm=decision.to_crm,
        to_delivery=decision.to_delivery,
        reverted=moved,
        note=note,
    )


def _conflict(state: FieldState) -> Decision:
    """Both sides moved apart: keep the owner's value, and say so."""
    owner, other = state.owner, _other(state.owner)
    kept = state.value(owner)
    writes = kept is not None and state.writable(other)
    decision = _written(state, other, kept) if writes and kept else _agreed(state)
    base = state.base
    was = _shown(base.crm if base else None)
    outcome = (
        f"{_shown(kept)} was kept and written to {_SIDE_NAMES[other]}"
        if writes
        else f"{_shown(kept)} was kept; {_SIDE_NAMES[other]} could not be "
        "written, so it keeps its own value"
    )
    note = (
        f"{_label(state.field)} was changed on both sides since {was}: to "
        f"{_shown(state.crm)} in the CRM and to {_shown(state.delivery)} in the "
        f"delivery tool. {_capital(_SIDE_NAMES[owner])} owns it, so "
        f"{outcome}. The other value is kept in the conflict record."
    )
    return Decision(
        state.field,
        decision.base,
        to_crm=decision.to_crm,
        to_delivery=decision.to_delivery,
        conflict=True,
        note=note,
    )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _label(field: str) -> str:
    return "The " + field.replace("_", " ")


def _shown(value: str | None) -> str:
    return "(empty)" if value is None else repr(value)
