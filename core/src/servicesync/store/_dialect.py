"""Small helpers that hide the differences between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel

__all__ = ["insert_for", "table_of", "upsert"]

_TABLE_ATTRIBUTE = "__table__"


def insert_for(connection: sa.Connection, table: sa.Table) -> Any:
    """Return the dialect's ``INSERT`` for ``table``, with ``ON CONFLICT`` support."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def upsert(
    connection: sa.Connection,
    table: sa.Table,
    rows: list[dict[str, Any]],
    keys: list[str],
) -> None:
    """Insert ``rows``; where ``keys`` already exist, overwrite the other columns."""
    if not rows:
        return
    statement = insert_for(connection, table)
    updated = [name for name in rows[0] if name not in keys]
    if updated:
        statement = statement.on_conflict_do_update(
            index_elements=keys,
            set_={name: statement.excluded[name] for name in updated},
        )
    else:
        statement = statement.on_conflict_do_nothing(index_elements=keys)
    connection.execute(statement, rows)


def table_of(model: type[SQLModel]) -> sa.Table:
    """Return the table of a SQLModel table class."""
    table = getattr(model, _TABLE_ATTRIBUTE, None)
    if not isinstance(table, sa.Table):
        msg = f"{model.__name__} is not a table model."
        raise TypeError(msg)
    return table
