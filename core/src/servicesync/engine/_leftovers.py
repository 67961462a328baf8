"""What stopped syncs leave of a two-way pair, for its next turn to take up.

A two-way write goes through the action journal, and the bases it leaves
(what both sides agree on once it is made) are stored when it is confirmed.
A sync killed around a write leaves two kinds of things behind:

* journal entries still pending (the call may or may not have reached the
  service), which :func:`stopped_writes` finds for a whole flow in one look;
* intents: the bases a write was to leave, kept by :class:`Intents` from
  before the write is sent until it is confirmed. Without them, the next
  sync would read servicesync's own write as a change made on that side,
  and a later edit of the other side as a conflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from servicesync.engine._bases import Decision
from servicesync.store import JournalEntry, Store
from servicesync.store._bases import BaseValues, apply_intent, save_intent

__all__ = ["Intents", "Leftovers", "stopped_writes"]

#: What separates a deal's two-way writes from the flow's other keys.
TWO_WAY_MARK = ":two-way:"


@dataclass(frozen=True)
class Leftovers:
    """What stopped syncs left of a pair: pending writes, intents not applied."""

    writes: list[JournalEntry]
    intents: dict[str, dict[str, BaseValues]]


def stopped_writes(store: Store, flow: str) -> dict[str, list[JournalEntry]]:
    """Return the two-way writes of ``flow`` left pending, by deal.

    One look at the journal for the whole flow: only pending entries, which
    are few, are read.
    """
    found: dict[str, list[JournalEntry]] = {}
    head = f"{flow}:"
    for entry in store.journal_pending(head):
        deal_id, mark, _ = entry.dedup_key.removeprefix(head).partition(TWO_WAY_MARK)
        if mark:
            found.setdefault(deal_id, []).append(entry)
    return found


class Intents:
    """The bases a flow's two-way writes leave, kept until each is made."""

    def __init__(self, store: Store, flow: str) -> None:
        self.store = store
        self.flow = flow

    def intend(
        self, deal_id: str, key: str, decisions: Sequence[Decision]
    ) -> dict[str, BaseValues]:
        """Keep the bases the write ``key`` leaves, before it is sent."""
        bases = {d.field: d.base for d in decisions}
        with self.store.transaction() as tx:
            save_intent(tx, key, self.flow, deal_id, bases, self.store.now())
        return bases

    def made(self, deal_id: str, key: str, bases: dict[str, BaseValues]) -> None:
        """Store the bases of the write ``key``, now made, and forget its intent."""
        with self.store.transaction() as tx:
            apply_intent(tx, key, self.flow, deal_id, bases, self.store.now())

    def settle(
        self, deal_id: str, intents: dict[str, dict[str, BaseValues]]
    ) -> dict[str, BaseValues]:
        """Settle the intents stopped syncs left; return the bases they give.

        A write the journal confirms gives its bases; one that failed or was
        superseded gives none; one still pending keeps its intent.
        """
        given: dict[str, BaseValues] = {}
        for key, bases in intents.items():
            entry = self.store.journal_find(key)
            if entry is not None and entry.status == "pending":
                continue
            made = entry is not None and entry.status == "confirmed"
            applied = bases if made else None
            with self.store.transaction() as tx:
                apply_intent(tx, key, self.flow, deal_id, applied, self.store.now())
            if made:
                given.update(bases)
        return given
