"""Alembic environment: migrate the connection servicesync hands over.

servicesync never runs Alembic from an ``alembic.ini``: the store opens the
connection, takes the migration lock and passes the connection in
``config.attributes["connection"]``.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext

from servicesync.domain import ExactDecimal, JSONDoc, UTCDateTime
from servicesync.store._schema import include_name, metadata

_OWN_TYPES = (ExactDecimal, JSONDoc, UTCDateTime)


def render_item(
    kind: str, obj: Any, autogen_context: AutogenContext
) -> str | Literal[False]:
    """Render the core's column types so a new revision imports cleanly."""
    if kind != "type":
        return False
    if isinstance(obj, _OWN_TYPES):
        autogen_context.imports.add("from servicesync import domain")
        return f"domain.{type(obj).__name__}()"
    if isinstance(obj, sa.types.TypeDecorator) and isinstance(obj.impl, sa.String):
        length = obj.impl.length
        return f"sa.String(length={length})" if length else "sa.String()"
    return False


def run_migrations() -> None:
    """Run the migrations on the connection given in the config's attributes."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        msg = "The servicesync migrations need a connection; run them via the store."
        raise RuntimeError(msg)
    context.configure(
        connection=connection,
        target_metadata=metadata(),
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        include_name=include_name,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
