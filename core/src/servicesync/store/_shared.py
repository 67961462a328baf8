"""Rate budgets, named locks and plugin state shared through the database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from servicesync.store._dialect import insert_for, table_of, upsert
from servicesync.store._tables import LockRow, PluginStateRow, RateBudgetRow

__all__ = ["SQLBudgetStore", "SQLNamedLocks", "SQLPluginState"]

_budgets = table_of(RateBudgetRow)
_locks = table_of(LockRow)
_state = table_of(PluginStateRow)


class SQLBudgetStore:
    """Leaky buckets every process sharing the database draws from.

    Each :meth:`take` reads and writes the bucket's row in one transaction
    that holds it: ``SELECT ... FOR UPDATE`` on PostgreSQL, the
    ``BEGIN IMMEDIATE`` write lock on SQLite.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def take(
        self, key: str, cost: float, rate: float, burst: float, now: float
    ) -> float:
        """Take ``cost`` from bucket ``key``; return seconds to wait before the call.

        The cost is booked at once even when the caller must wait, so callers
        that come later wait longer instead of all waking together.
        """
        with self._engine.begin() as connection:
            connection.execute(
                insert_for(connection, _budgets).on_conflict_do_nothing(
                    index_elements=["key"]
                ),
                {"key": key, "level": 0.0, "updated_at": now},
            )
            query = sa.select(_budgets.c.level, _budgets.c.updated_at).where(
                _budgets.c.key == key
            )
            if connection.dialect.name == "postgresql":
                query = query.with_for_update()
            level, updated_at = connection.execute(query).one()
            drained = max(0.0, level - max(0.0, now - updated_at) * rate)
            wait = max(0.0, (drained + cost - burst) / rate) if rate > 0 else 0.0
            connection.execute(
                sa.update(_budgets)
                .where(_budgets.c.key == key)
                .values(level=drained + cost, updated_at=max(now, updated_at))
            )
        return wait


class SQLNamedLocks:
    """Locks held as rows with an expiry, so a crashed holder frees them in time.

    A lock row works the same on both databases and survives the pooled
    connection that took it, which an advisory lock would not.
    """

    def __init__(self, engine: Engine, now: Callable[[], datetime]) -> None:
        self._engine = engine
        self._now = now

    def try_acquire(self, name: str, owner: str, ttl: float) -> bool:
        """Take ``name`` for ``ttl`` seconds, or renew it if ``owner`` holds it."""
        now = self._now()
        with self._engine.begin() as connection:
            statement = insert_for(connection, _locks).values(
                name=name, owner=owner, expires_at=now + timedelta(seconds=ttl)
            )
            statement = statement.on_conflict_do_update(
                index_elements=["name"],
                set_={"owner": owner, "expires_at": statement.excluded.expires_at},
                where=sa.or_(_locks.c.owner == owner, _locks.c.expires_at <= now),
            ).returning(_locks.c.owner)
            return connection.execute(statement).scalar_one_or_none() == owner

    def holder(self, name: str) -> str | None:
        """Return who holds ``name``, expired or not; ``None`` when no one took it."""
        with self._engine.begin() as connection:
            query = sa.select(_locks.c.owner).where(_locks.c.name == name)
            owner = connection.execute(query).scalar_one_or_none()
        return None if owner is None else str(owner)

    def held_under(self, prefix: str) -> dict[str, str]:
        """Return the holder of every lock whose name starts with ``prefix``."""
        query = sa.select(_locks.c.name, _locks.c.owner).where(
            _locks.c.name.startswith(prefix, autoescape=True)
        )
        with self._engine.begin() as connection:
            return {str(name): str(owner) for name, owner in connection.execute(query)}

    def release(self, name: str, owner: str) -> None:
        """Give ``name`` back if ``owner`` holds it."""
        with self._engine.begin() as connection:
            connection.execute(
                sa.delete(_locks).where(_locks.c.name == name, _locks.c.owner == owner)
            )


class SQLPluginState:
    """The :class:`~servicesync.contract.PluginState` of one connection."""

    def __init__(self, engine: Engine, connection: str) -> None:
        self._engine = engine
        self._connection = connection

    def get(self, key: str) -> str | None:
        """Return the value stored under ``key``."""
        query = sa.select(_state.c.value).where(
            _state.c.connection == self._connection, _state.c.key == key
        )
        with self._engine.begin() as connection:
            value: str | None = connection.execute(query).scalar_one_or_none()
        return value

    def put(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        row = {"connection": self._connection, "key": key, "value": value}
        with self._engine.begin() as connection:
            upsert(connection, _state, [row], ["connection", "key"])
