"""The metadata of every table the core owns, domain and ledger alike."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

# Importing the modules is what registers their tables on the metadata.
import servicesync.domain
import servicesync.store._bases
import servicesync.store._tables  # noqa: F401

__all__ = ["ALEMBIC_TABLE", "FOREIGN_TABLE_PREFIXES", "include_name", "metadata"]

#: The table Alembic keeps the schema revision in; not a model.
ALEMBIC_TABLE = "alembic_version"


def metadata() -> sa.MetaData:
    """Return the metadata holding every table of the core's schema."""
    return SQLModel.metadata


#: Tables of libraries that ship and migrate their own schema in ours.
FOREIGN_TABLE_PREFIXES = ("procrastinate_",)


def include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """Keep tables owned by other libraries out of autogenerate's comparison."""
    return not (type_ == "table" and (name or "").startswith(FOREIGN_TABLE_PREFIXES))
