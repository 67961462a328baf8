"""Bring a database to the schema this version of servicesync expects.

Migrations run inside one transaction under a lock, so processes that start
together do not race: on PostgreSQL a transaction-scoped advisory lock keyed
on the schema; on SQLite the ``BEGIN IMMEDIATE`` write lock every store
transaction takes. The second process then finds the schema current.
"""

from __future__ import annotations

import logging
from importlib.resources import files

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

__all__ = [
    "alembic_config",
    "current_revision",
    "head_revision",
    "is_current",
    "upgrade",
]

logger = logging.getLogger(__name__)

_LOCK_SQL = sa.text(
    "SELECT pg_advisory_xact_lock(hashtext(current_schema() || :purpose))"
).bindparams(purpose="/servicesync-migrate")


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Return an Alembic config for the migrations shipped in the package."""
    config = Config()
    location = files("servicesync.store").joinpath("migrations")
    config.set_main_option("script_location", str(location))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """Return the newest revision this version of servicesync ships."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """Return the revision the database is at, or ``None`` for an empty one."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_current(engine: Engine) -> bool:
    """Whether the database is at the newest revision."""
    return current_revision(engine) == head_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` under the migration lock."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(_LOCK_SQL)
        command.upgrade(alembic_config(connection), revision)
    logger.info("The store schema is at revision %s.", current_revision(engine))
