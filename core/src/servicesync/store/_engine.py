"""Engines for the two supported databases, set up the way the store needs."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_delay,
    wait_random_exponential,
)

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
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if not in_memory:
            _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _is_locked(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


@retry(
    retry=retry_if_exception(_is_locked),
    stop=stop_after_delay(SQLITE_BUSY_TIMEOUT_MS / 1000),
    wait=wait_random_exponential(multiplier=0.01, max=0.5),
    reraise=True,
)
def _use_wal(cursor: sqlite3.Cursor) -> None:
    """Put the database in WAL mode, once, whoever gets there first.

    Switching the journal mode needs the database to itself, and SQLite
    answers "locked" at once, without its busy timeout, while another
    connection holds it: processes opening a new store together retry.
    """
    (mode,) = cursor.execute("PRAGMA journal_mode").fetchone()
    if str(mode).lower() != "wal":
        cursor.execute("PRAGMA journal_mode=WAL")
