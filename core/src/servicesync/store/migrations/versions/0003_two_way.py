"""Keep what two-way consistency needs: watched records, base values, conflicts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servicesync import domain

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "two_way_bases",
        sa.Column("flow", sa.String(length=100), nullable=False),
        sa.Column("deal_id", sa.String(length=26), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("crm_value", sa.String(), nullable=True),
        sa.Column("delivery_value", sa.String(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", domain.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "flow", "deal_id", "field", name=op.f("pk_two_way_bases")
        ),
    )
    op.create_table(
        "two_way_conflicts",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("flow", sa.String(length=100), nullable=False),
        sa.Column("deal_id", sa.String(length=26), nullable=False),
        sa.Column("project_key", sa.String(length=200), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=16), nullable=False),
        sa.Column("base_crm", sa.String(), nullable=True),
        sa.Column("base_delivery", sa.String(), nullable=True),
        sa.Column("crm_value", sa.String(), nullable=True),
        sa.Column("delivery_value", sa.String(), nullable=True),
        sa.Column("kept", sa.String(), nullable=True),
        sa.Column("decision", sa.String(), nullable=False),
        sa.Column("created_at", domain.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_two_way_conflicts")),
    )
    with op.batch_alter_table("two_way_conflicts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_two_way_conflicts_deal_id"), ["deal_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_two_way_conflicts_flow"), ["flow"], unique=False
        )

    op.create_table(
        "two_way_records",
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("belongs_to", sa.String(length=200), nullable=False),
        sa.Column("data", domain.JSONDoc(), nullable=False),
        sa.Column("seen_at", domain.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "connection", "stream", "external_id", name=op.f("pk_two_way_records")
        ),
    )
    with op.batch_alter_table("two_way_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_two_way_records_connection_belongs_to"),
            ["connection", "belongs_to"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("two_way_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_two_way_records_connection_belongs_to"))
    op.drop_table("two_way_records")
    with op.batch_alter_table("two_way_conflicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_two_way_conflicts_flow"))
        batch_op.drop_index(batch_op.f("ix_two_way_conflicts_deal_id"))
    op.drop_table("two_way_conflicts")
    op.drop_table("two_way_bases")
