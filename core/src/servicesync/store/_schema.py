"""The metadata of every table the core owns, domain and ledger alike."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import SQLModel

# Importing the modules is what registers their tables on the metadata.
import servicesync.domain
import servicesync.store._tables  # noqa: F401

__all__ = ["ALEMBIC_TABLE", "metadata"]

#: The table Alembic keeps the schema revision in; not a model.
ALEMBIC_TABLE = "alembic_version"


def metadata() -> sa.MetaData:
    """Return the metadata holding every table of the core's schema."""
    return SQLModel.metadata
