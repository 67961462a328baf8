"""Bulk statements that read the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["chunks", "upsert"]

# SQLite allows 32,766 bound parameters a statement; rows of up to twenty
# columns stay well below that in chunks of this size.
_CHUNK = 500


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    """Yield ``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def upsert(
    conn: sa.Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    *,
    update: Sequence[str] | None = None,
) -> None:
    """Insert ``rows``, updating ``update`` columns where ``keys`` already exist.

    With ``update`` empty, existing rows are left as they are.
    """
    if not rows:
        return
    dialect = conn.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = list(rows[0]) if update is None else list(update)
    for part in chunks(rows):
        statement = insert(table).values(list(part))
        to_update = {c: statement.excluded[c] for c in columns if c not in keys}
        if to_update:
            statement = statement.on_conflict_do_update(
                index_elements=list(keys), set_=to_update
            )
        else:
            statement = statement.on_conflict_do_nothing(index_elements=list(keys))
        conn.execute(statement)
