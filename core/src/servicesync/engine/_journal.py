"""Writes to services that happen exactly once, through the action journal.

Before an action is executed its deduplication key is recorded as pending,
and committed. After the service answered, the row is confirmed with what was
created. When a later attempt finds the key still pending, the outcome of the
earlier one is unknown (a crash, a lost answer), so the action's ``find`` is
asked first, and only if it finds nothing is the write made again.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel

from servicesync._clock import Clock
from servicesync.contract import Action, ActionResult
from servicesync.engine._failpoints import failpoint
from servicesync.errors import FatalError
from servicesync.store._tables import ActionJournalRow

__all__ = ["perform"]

logger = logging.getLogger(__name__)

JOURNAL = ActionJournalRow.__table__  # type: ignore[attr-defined]


async def perform(
    engine: sa.Engine,
    clock: Clock,
    connection: str,
    action: Action[Any],
    dedup_key: str,
    params: BaseModel,
) -> ActionResult:
    """Run ``action`` once for ``dedup_key``, however often this is called.

    Raises:
        ConnectorError: the write failed; a retryable failure leaves the key
            pending, so the next call looks for the object before writing.
    """
    row = _row(engine, dedup_key)
    if row is not None and row.status == "confirmed":
        return ActionResult.model_validate(row.result)
    if row is not None:
        found = await action.find(dedup_key, params)
        if found is not None:
            logger.info("%s %s found from an earlier attempt", action.name, dedup_key)
            _confirm(engine, clock, dedup_key, found)
            return found
    else:
        _begin(engine, clock, connection, action.name, dedup_key, params)

    failpoint("before_remote_create")
    _count_attempt(engine, clock, dedup_key)
    try:
        result = await action.execute(dedup_key, params)
    except FatalError as exc:
        _record_error(engine, clock, dedup_key, str(exc), status="failed")
        raise
    except Exception as exc:
        _record_error(engine, clock, dedup_key, str(exc), status="pending")
        raise
    failpoint("after_remote_create")
    _confirm(engine, clock, dedup_key, result)
    failpoint("after_journal_confirm")
    return result


def _row(engine: sa.Engine, dedup_key: str) -> Any:
    with engine.begin() as conn:
        return conn.execute(sa.select(JOURNAL).where(JOURNAL.c.dedup_key == dedup_key)).first()


def _begin(
    engine: sa.Engine,
    clock: Clock,
    connection: str,
    action: str,
    dedup_key: str,
    params: BaseModel,
) -> None:
    now = clock.now()
    with engine.begin() as conn:
        conn.execute(
            sa.insert(JOURNAL).values(
                dedup_key=dedup_key,
                connection=connection,
                action=action,
                status="pending",
                params=params.model_dump(mode="json"),
                attempts=0,
                created_at=now,
                updated_at=now,
            )
        )


def _count_attempt(engine: sa.Engine, clock: Clock, dedup_key: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(JOURNAL)
            .where(JOURNAL.c.dedup_key == dedup_key)
            .values(attempts=JOURNAL.c.attempts + 1, updated_at=clock.now())
        )


def _confirm(engine: sa.Engine, clock: Clock, dedup_key: str, result: ActionResult) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(JOURNAL)
            .where(JOURNAL.c.dedup_key == dedup_key)
            .values(
                status="confirmed",
                result=result.model_dump(mode="json"),
                error=None,
                updated_at=clock.now(),
            )
        )


def _record_error(engine: sa.Engine, clock: Clock, dedup_key: str, error: str, *, status: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(JOURNAL)
            .where(JOURNAL.c.dedup_key == dedup_key)
            .values(status=status, error=error[:2000], updated_at=clock.now())
        )
