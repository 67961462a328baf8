"""Pieces every domain table shares: ids, money and time fields, naming rules."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import StringConstraints
from sqlmodel import Field, SQLModel

from servicesync.domain._columns import ExactDecimal, JSONDoc, UTCDateTime

__all__ = [
    "CURRENCY_PATTERN",
    "Currency",
    "currency_field",
    "decimal_field",
    "id_field",
    "json_field",
    "new_id",
    "time_field",
    "utcnow",
]

# Constraint names must be the same on every database and in every migration,
# or autogenerate would see renamed constraints where nothing changed.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CURRENCY_PATTERN = r"^[A-Z]{3}$"

#: An ISO 4217 code: three capital letters, such as ``"EUR"``.
Currency = Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)]

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id() -> str:
    """Return a new 26-character id that sorts by creation time.

    The first ten characters encode the milliseconds since the epoch, the
    other sixteen are random, in Crockford's base 32 (no I, L, O or U).

    Example:
        >>> len(new_id())
        26
    """
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10))
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


def id_field() -> Any:
    """A primary key filled with :func:`new_id` when not given."""
    return Field(default_factory=new_id, primary_key=True, max_length=26)


def currency_field(default: str | None = None) -> Any:
    """An ISO 4217 currency code such as ``"EUR"``."""
    if default is None:
        return Field(sa_type=sa.String(3))
    return Field(default=default, sa_type=sa.String(3))


def decimal_field(*, nullable: bool = False, ge: int | None = 0) -> Any:
    """An exact decimal (money, hours, rates); ``None`` allowed when nullable."""
    if nullable:
        return Field(default=None, ge=ge, sa_type=ExactDecimal, nullable=True)
    return Field(default=Decimal(0), ge=ge, sa_type=ExactDecimal)


def time_field(*, nullable: bool = False) -> Any:
    """An aware datetime, stored as an instant in UTC."""
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, nullable=True)
    return Field(default_factory=utcnow, sa_type=UTCDateTime)


def json_field(default_factory: Any = list) -> Any:
    """A JSON document (a list or a mapping of plain values)."""
    return Field(default_factory=default_factory, sa_type=JSONDoc)
