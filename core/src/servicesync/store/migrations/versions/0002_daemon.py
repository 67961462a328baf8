"""Record what triggered a run and where it ran; operators' switches; the job queue.

On PostgreSQL this revision also installs the schema of procrastinate, the
task queue several daemons share. That schema belongs to procrastinate, is
applied as it ships, and is kept out of autogenerate (see env.py).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 17:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servicesync import domain

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("trigger", sa.String(length=250), nullable=True))
    op.add_column("runs", sa.Column("worker", sa.String(length=100), nullable=True))
    op.create_table(
        "connection_controls",
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("updated_at", domain.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("connection", name=op.f("pk_connection_controls")),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # Imported here: the queue exists only on the PostgreSQL path.
        from procrastinate.schema import SchemaManager

        # The driver reads '%' as a placeholder; the schema's own are literal.
        bind.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    op.drop_table("connection_controls")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("worker")
        batch.drop_column("trigger")
