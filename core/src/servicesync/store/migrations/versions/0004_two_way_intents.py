"""Keep the bases a two-way write leaves until the write is known made.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 11:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servicesync import domain

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "two_way_intents",
        sa.Column("dedup_key", sa.String(length=300), nullable=False),
        sa.Column("flow", sa.String(length=100), nullable=False),
        sa.Column("deal_id", sa.String(length=26), nullable=False),
        sa.Column("bases", domain.JSONDoc(), nullable=False),
        sa.Column("created_at", domain.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("dedup_key", name=op.f("pk_two_way_intents")),
    )
    with op.batch_alter_table("two_way_intents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_two_way_intents_flow"), ["flow"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("two_way_intents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_two_way_intents_flow"))
    op.drop_table("two_way_intents")
