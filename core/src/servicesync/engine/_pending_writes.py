"""Writes a stopped sync left pending in the journal, settled by looking.

A sync killed between a write and its confirmation leaves the journal entry
pending: the call may or may not have reached the service. When the next
sync decides the same write again, the journal's own ``find`` settles it.
When it decides otherwise (the write did land, and both sides now agree;
or the deal changed again meanwhile), nothing would ever look at the entry
again. So, before a pair is decided, each such entry is settled by asking
its action's ``find``, never by writing: found, the entry is confirmed with
what was found; not found, it is marked superseded, since whatever the pair
still needs is decided afresh from where both sides stand now.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from servicesync.contract import Action, Connector
from servicesync.errors import ServiceSyncError
from servicesync.store import JournalEntry, Store

__all__ = ["settle_pending"]

logger = logging.getLogger(__name__)

#: The note a pending write gets when it is settled as overtaken.
OVERTAKEN = "overtaken: not found at the service; later syncs decide afresh"


async def settle_pending(
    store: Store,
    entries: Iterable[JournalEntry],
    connectors: Mapping[str, Connector[Any]],
    *,
    leave: Collection[str] = (),
) -> int:
    """Settle those of ``entries`` still pending; return how many were settled.

    Args:
        store: the store whose journal holds the entries.
        entries: journal entries found pending, read earlier (each is looked
            up again, and skipped once no longer pending).
        connectors: by connection name, the connectors whose actions made
            the writes.
        leave: actions whose pending entries someone else finishes.

    An entry whose ``find`` fails (the service cannot be reached) stays
    pending for the next sync.
    """
    settled = 0
    for entry in entries:
        connector = connectors.get(entry.connection)
        if entry.action in leave or connector is None:
            continue
        action: Action[Any] | None = connector.actions().get(entry.action)
        current = store.journal_find(entry.dedup_key)
        if action is None or current is None or current.status != "pending":
            continue
        try:
            params = action.params_model.model_validate(entry.params)
            found = await action.find(entry.dedup_key, params)
        except ServiceSyncError as exc:
            logger.warning(
                "Could not tell whether the pending write %s was made; the "
                "next sync looks again: %s",
                entry.dedup_key, exc,
            )  # fmt: skip
            continue
        if found is not None:
            store.journal_confirm(entry.dedup_key, found.model_dump(mode="json"))
        else:
            store.journal_supersede(entry.dedup_key, OVERTAKEN)
        settled += 1
    if settled:
        logger.info("%d pending writes settled.", settled)
    return settled
