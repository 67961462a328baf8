"""Writes to services that happen exactly once, through the action journal.

Before an action runs, its deduplication key is recorded as pending and
committed; after the service answered, the entry is confirmed with what was
made. When a later attempt finds the entry already tried, the outcome of the
earlier attempt is unknown (a crash, a lost answer), so the action's ``find``
is asked first, and only when it finds nothing is the write made again.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel

from servicesync.contract import Action, ActionResult
from servicesync.engine._failpoints import failpoint
from servicesync.errors import ConnectorError, FatalError
from servicesync.store import Store

__all__ = ["perform"]

logger = logging.getLogger(__name__)


async def perform(
    store: Store,
    connection: str,
    action: Action[Any],
    dedup_key: str,
    params: BaseModel,
) -> ActionResult:
    """Run ``action`` once for ``dedup_key``, however often this is called.

    Raises:
        ConnectorError: the write failed, or some of its items did. After
            a retryable failure, or a partial one, the entry stays pending,
            so the next call looks for what was made first.
    """
    entry = store.journal_begin(
        dedup_key, connection, action.name, params.model_dump(mode="json")
    )
    if entry.status == "confirmed" and entry.result is not None:
        return ActionResult.model_validate(entry.result)
    if entry.attempts > 1:
        found = await action.find(dedup_key, params)
        if found is not None:
            logger.info(
                "%s %s: found what an earlier attempt made", action.name, dedup_key
            )
            store.journal_confirm(dedup_key, found.model_dump(mode="json"))
            return found

    failpoint("before_remote_create")
    try:
        result = await action.execute(dedup_key, params)
    except FatalError as exc:
        store.journal_fail(dedup_key, str(exc))
        raise
    failpoint("after_remote_create")
    if result.failed:
        # Left pending: the next attempt finds what was made, sends the rest.
        raise ConnectorError(_partly_done(action.name, dedup_key, result.failed))
    store.journal_confirm(dedup_key, result.model_dump(mode="json"))
    failpoint("after_journal_confirm")
    return result


def _partly_done(action: str, dedup_key: str, failed: dict[str, str]) -> str:
    shown = "; ".join(f"{ref}: {why}" for ref, why in sorted(failed.items())[:5])
    more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
    return (
        f"{action} {dedup_key}: {len(failed)} items failed{more}: {shown}. "
        "What was made is kept; the next attempt sends only the rest."
    )
