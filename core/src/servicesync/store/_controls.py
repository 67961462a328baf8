"""Operators' switches on connections: paused, read-only.

They live in the store rather than in the config so that every daemon
sharing the database honours a change at its next run, without a restart.
The config's own ``read_only`` still applies; a switch here adds to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from servicesync.store._tables import ConnectionControl

__all__ = ["Control", "get_control", "list_controls", "set_control"]

_controls = ConnectionControl.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Control:
    """The switches of one connection; both off when none was ever set."""

    connection: str
    paused: bool = False
    read_only: bool = False
    note: str | None = None
    updated_at: datetime | None = None


def get_control(connection: sa.Connection, name: str) -> Control:
    """Return the switches of the connection ``name``."""
    row = connection.execute(
        sa.select(_controls).where(_controls.c.connection == name)
    ).first()
    return _control(row) if row else Control(name)


def list_controls(connection: sa.Connection) -> list[Control]:
    """Return every connection whose switches were ever set, by name."""
    rows = connection.execute(sa.select(_controls).order_by(_controls.c.connection))
    return [_control(row) for row in rows]


def set_control(
    connection: sa.Connection,
    name: str,
    now: datetime,
    *,
    paused: bool | None = None,
    read_only: bool | None = None,
    note: str | None = None,
) -> Control:
    """Change the switches given, keep the others; return the result."""
    current = get_control(connection, name)
    values = {
        "paused": current.paused if paused is None else paused,
        "read_only": current.read_only if read_only is None else read_only,
        "note": note if note is not None else current.note,
        "updated_at": now,
    }
    if current.updated_at is None:
        connection.execute(sa.insert(_controls).values(connection=name, **values))
    else:
        connection.execute(
            sa.update(_controls).where(_controls.c.connection == name).values(**values)
        )
    return get_control(connection, name)


def _control(row: sa.Row[tuple[object, ...]]) -> Control:
    data = row._mapping
    return Control(
        connection=data["connection"],
        paused=data["paused"],
        read_only=data["read_only"],
        note=data["note"],
        updated_at=data["updated_at"],
    )
