"""Engines for the two supported databases, set up the way the store needs."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from servicesync.errors import StoreError

__all__ = ["make_engine", "redact_url"]

logger = logging.getLogger(__name__)

#: Milliseconds a SQLite connection waits for another writer before failing.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def redact_url(url: str | sa.URL) -> str:
    """Return ``url`` with any password masked, fit for logs and messages."""
    return sa.make_url(url).render_as_string(hide_password=True)


def make_engine(url: str | sa.URL, **connect_args: Any) -> Engine:
    """Create an engine for a SQLite or PostgreSQL URL.

    SQLite connections get WAL, a busy timeout and foreign keys, and every
    transaction starts with ``BEGIN IMMEDIATE``: the write lock is taken up
    front, so two writers queue on the busy timeout instead of failing when
    a reader tries to become a writer.

    Raises:
        StoreError: the URL names a database servicesync does not support.
    """
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed, connect_args)
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)
    msg = (
        f"The store URL {redact_url(parsed)!r} names the database {backend!r}; "
        "use a sqlite:/// or postgresql+psycopg:// URL."
    )
    raise StoreError(msg)


def _sqlite_engine(url: sa.URL, connect_args: dict[str, Any]) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    if in_memory:
        connect_args.setdefault("check_same_thread", False)
        engine = sa.create_engine(url, connect_args=connect_args, poolclass=StaticPool)
    else:
        engine = sa.create_engine(url, connect_args=connect_args)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
