"""Column types that keep money, instants and documents exact on every database.

SQLite has no decimal and no time zone: with SQLAlchemy's default types a
``Decimal("0.10")`` comes back as a float-born ``Decimal`` and an aware
datetime comes back naive. The types here store values in a form each
database keeps exactly:

* :class:`ExactDecimal` (money, hours, rates): ``NUMERIC`` without a fixed
  scale on PostgreSQL (it keeps the digits it is given), canonical decimal
  text on SQLite.
* :class:`UTCDateTime`: ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL, fixed
  width ISO-8601 text in UTC on SQLite (so text order is time order). Naive
  datetimes are refused; values come back aware, in UTC.
* :class:`EnumText`: the value of a ``StrEnum`` as plain text (no database
  enum type to migrate), read back as the enum member.
* :class:`JSONDoc`: ``JSONB`` on PostgreSQL, ``JSON`` text elsewhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["EnumText", "ExactDecimal", "JSONDoc", "UTCDateTime"]


class ExactDecimal(TypeDecorator[Decimal]):
    """A ``Decimal`` stored without loss; floats are refused."""

    impl = sa.Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.NUMERIC(asdecimal=True))
        return dialect.type_descriptor(sa.String(64))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            msg = f"Decimal columns take Decimal values, not the float {value!r}."
            raise TypeError(msg)
        amount = value if isinstance(value, Decimal) else _parse(value)
        if not amount.is_finite():
            msg = f"Decimal columns take finite amounts, not {amount!r}."
            raise ValueError(msg)
        return amount if dialect.name == "postgresql" else str(amount)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else _parse(value)


def _parse(value: object) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        msg = f"The value {value!r} is not a decimal amount."
        raise ValueError(msg) from exc


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored as an instant and read back in UTC."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(sa.String(32))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            msg = f"Datetime columns take datetime values, not {type(value).__name__}."
            raise TypeError(msg)
        if value.tzinfo is None or value.utcoffset() is None:
            msg = (
                f"The datetime {value.isoformat()} has no time zone; give an aware one."
            )
            raise ValueError(msg)
        instant = value.astimezone(UTC)
        if dialect.name == "postgresql":
            return instant
        # Always 32 characters, ``0999-12-31T23:00:00.000000+00:00``, so
        # that text order is time order: isoformat pads the year to four
        # digits, where strftime's %Y does not on every platform.
        return instant.isoformat(timespec="microseconds")

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
            return moment.astimezone(UTC)
        return datetime.fromisoformat(str(value)).astimezone(UTC)


class JSONDoc(TypeDecorator[Any]):
    """A JSON document: ``JSONB`` on PostgreSQL, JSON text elsewhere."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(sa.JSON())


class EnumText(TypeDecorator[StrEnum]):
    """A ``StrEnum`` member stored as its value in a short text column."""

    impl = sa.String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int = 16) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)
