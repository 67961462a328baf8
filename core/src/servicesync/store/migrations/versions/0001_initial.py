"""Create the domain and sync ledger tables.

Revision ID: 0001
Revises:
Create Date: 2026-12-03 16:14:38.976800
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from servicesync import domain

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "action_journal",
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("params", domain.JSONDoc(), nullable=False),
        sa.Column("result", domain.JSONDoc(), nullable=True),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", domain.UTCDateTime(), nullable=False),
        sa.Column("updated_at", domain.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("dedup_key", name=op.f("pk_action_journal")),
    )
    op.create_table(
        "clients",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_name", sa.String(length=300), nullable=True),
        sa.Column("segment", sa.String(length=100), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("is_own_company", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", domain.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
    )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clients_name"), ["name"], unique=False)

    op.create_table(
        "credentials",
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("ciphertext", sa.String(), nullable=False),
        sa.Column("updated_at", domain.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("connection", "name", name=op.f("pk_credentials")),
    )
    op.create_table(
        "experts",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("grade", sa.String(length=64), nullable=True),
        sa.Column("cost_rate", domain.ExactDecimal(), nullable=False),
        sa.Column("bill_rate", domain.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("weekly_capacity_hours", domain.ExactDecimal(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experts")),
        sa.UniqueConstraint("email", name=op.f("uq_experts_email")),
    )
    op.create_table(
        "external_links",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("record_type", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("internal_id", sa.String(length=26), nullable=False),
        sa.Column("created_at", domain.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_links")),
        sa.UniqueConstraint(
            "connection",
            "record_type",
            "external_id",
            name=op.f("uq_external_links_connection_record_type_external_id"),
        ),
    )
    with op.batch_alter_table("external_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_external_links_internal_id"), ["internal_id"], unique=False
        )

    op.create_table(
        "locks",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("expires_at", domain.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_locks")),
    )
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("payload", domain.JSONDoc(), nullable=False),
        sa.Column("created_at", domain.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_events_type"), ["type"], unique=False
        )

    op.create_table(
        "pipelines",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipelines")),
        sa.UniqueConstraint("code", name=op.f("uq_pipelines_code")),
    )
    op.create_table(
        "plugin_state",
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("connection", "key", name=op.f("pk_plugin_state")),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("payload", domain.JSONDoc(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("first_seen", domain.UTCDateTime(), nullable=False),
        sa.Column("last_seen", domain.UTCDateTime(), nullable=False),
        sa.Column("retried", sa.Integer(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        sa.UniqueConstraint(
            "connection",
            "stream",
            "external_id",
            name=op.f("uq_quarantine_connection_stream_external_id"),
        ),
    )
    op.create_table(
        "rate_budgets",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("level", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_budgets")),
    )
    op.create_table(
        "record_hashes",
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("seen_at", domain.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "connection", "stream", "external_id", name=op.f("pk_record_hashes")
        ),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("stream", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("read", sa.Integer(), nullable=False),
        sa.Column("written", sa.Integer(), nullable=False),
        sa.Column("skipped_unchanged", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(), nullable=True),
        sa.Column("started_at", domain.UTCDateTime(), nullable=False),
        sa.Column("finished_at", domain.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_runs_connection"), ["connection"], unique=False
        )

    op.create_table(
        "services",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("audience", sa.String(), nullable=False),
        sa.Column("methodology", sa.String(), nullable=False),
        sa.Column("typical_duration_days", sa.Integer(), nullable=True),
        sa.Column("pricing_model", sa.String(length=16), nullable=False),
        sa.Column("typical_budget_min", domain.ExactDecimal(), nullable=True),
        sa.Column("typical_budget_max", domain.ExactDecimal(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("typical_hours", domain.ExactDecimal(), nullable=True),
        sa.Column("cost_factors", domain.JSONDoc(), nullable=False),
        sa.Column("packages", domain.JSONDoc(), nullable=False),
        sa.Column("partners", domain.JSONDoc(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.UniqueConstraint("code", name=op.f("uq_services_code")),
    )
    op.create_table(
        "stream_state",
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("state", domain.JSONDoc(), nullable=False),
        sa.Column("updated_at", domain.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("connection", "stream", name=op.f("pk_stream_state")),
    )
    op.create_table(
        "webhook_receipts",
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("delivery_key", sa.String(length=200), nullable=False),
        sa.Column("received_at", domain.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "connection", "delivery_key", name=op.f("pk_webhook_receipts")
        ),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("secret_ciphertext", sa.String(), nullable=True),
        sa.Column("expires_at", domain.UTCDateTime(), nullable=True),
        sa.Column("created_at", domain.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
        sa.UniqueConstraint(
            "connection", "external_id", name=op.f("uq_webhooks_connection_external_id")
        ),
    )
    op.create_table(
        "certificates",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("expert_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["experts.id"],
            name=op.f("fk_certificates_expert_id_experts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint(
            "expert_id", "name", name=op.f("uq_certificates_expert_id_name")
        ),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificates_expert_id"), ["expert_id"], unique=False
        )

    op.create_table(
        "contacts",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("client_id", sa.String(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("position", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_contacts_client_id_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contacts_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_contacts_email"), ["email"], unique=False)

    op.create_table(
        "expert_competencies",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("expert_id", sa.String(), nullable=False),
        sa.Column("competency", sa.String(length=100), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["experts.id"],
            name=op.f("fk_expert_competencies_expert_id_experts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_competencies")),
        sa.UniqueConstraint(
            "expert_id",
            "competency",
            "since",
            name=op.f("uq_expert_competencies_expert_id_competency_since"),
        ),
    )
    with op.batch_alter_table("expert_competencies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expert_competencies_expert_id"), ["expert_id"], unique=False
        )

    op.create_table(
        "expert_identities",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("expert_id", sa.String(), nullable=False),
        sa.Column("system", sa.String(length=64), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["experts.id"],
            name=op.f("fk_expert_identities_expert_id_experts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_identities")),
        sa.UniqueConstraint(
            "connection",
            "external_id",
            name=op.f("uq_expert_identities_connection_external_id"),
        ),
    )
    with op.batch_alter_table("expert_identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expert_identities_expert_id"), ["expert_id"], unique=False
        )

    op.create_table(
        "outbox_deliveries",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("plugin", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", domain.UTCDateTime(), nullable=False),
        sa.Column("claimed_until", domain.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["outbox_events.id"],
            name=op.f("fk_outbox_deliveries_event_id_outbox_events"),
        ),
        sa.PrimaryKeyConstraint(
            "event_id", "plugin", name=op.f("pk_outbox_deliveries")
        ),
    )
    with op.batch_alter_table("outbox_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_deliveries_status"), ["status"], unique=False
        )

    op.create_table(
        "project_templates",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("service_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_project_templates_service_id_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_templates")),
        sa.UniqueConstraint("code", name=op.f("uq_project_templates_code")),
    )
    with op.batch_alter_table("project_templates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_templates_service_id"), ["service_id"], unique=False
        )

    op.create_table(
        "service_roles",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("service_id", sa.String(), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("competency", sa.String(length=100), nullable=False),
        sa.Column("min_level", sa.Integer(), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("typical_hours", domain.ExactDecimal(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_service_roles_service_id_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_roles")),
        sa.UniqueConstraint(
            "service_id", "role", name=op.f("uq_service_roles_service_id_role")
        ),
    )
    with op.batch_alter_table("service_roles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_roles_service_id"), ["service_id"], unique=False
        )

    op.create_table(
        "stages",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("pipeline_id", sa.String(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("semantics", sa.String(length=16), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("goal", sa.String(), nullable=False),
        sa.Column("key_activities", domain.JSONDoc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_stages_pipeline_id_pipelines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stages")),
        sa.UniqueConstraint(
            "pipeline_id", "code", name=op.f("uq_stages_pipeline_id_code")
        ),
    )
    with op.batch_alter_table("stages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stages_pipeline_id"), ["pipeline_id"], unique=False
        )

    op.create_table(
        "deals",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("client_id", sa.String(), nullable=True),
        sa.Column("service_id", sa.String(), nullable=True),
        sa.Column("pipeline_id", sa.String(), nullable=True),
        sa.Column("stage_id", sa.String(), nullable=True),
        sa.Column("amount", domain.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("pricing_model", sa.String(length=16), nullable=False),
        sa.Column("estimate_min_hours", domain.ExactDecimal(), nullable=True),
        sa.Column("estimate_max_hours", domain.ExactDecimal(), nullable=True),
        sa.Column("probability", sa.Integer(), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("expected_close", sa.Date(), nullable=True),
        sa.Column("lost_reason", sa.String(), nullable=True),
        sa.Column("created_at", domain.UTCDateTime(), nullable=False),
        sa.Column("closed_at", domain.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_deals_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_deals_pipeline_id_pipelines"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_deals_service_id_services")
        ),
        sa.ForeignKeyConstraint(
            ["stage_id"], ["stages.id"], name=op.f("fk_deals_stage_id_stages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
    )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deals_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_deals_stage_id"), ["stage_id"], unique=False
        )

    op.create_table(
        "template_milestones",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("template_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("offset_days", sa.Integer(), nullable=False),
        sa.Column("share_percent", domain.ExactDecimal(), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["project_templates.id"],
            name=op.f("fk_template_milestones_template_id_project_templates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template_milestones")),
        sa.UniqueConstraint(
            "template_id", "name", name=op.f("uq_template_milestones_template_id_name")
        ),
    )
    with op.batch_alter_table("template_milestones", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_template_milestones_template_id"),
            ["template_id"],
            unique=False,
        )

    op.create_table(
        "template_tasks",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("template_id", sa.String(), nullable=False),
        sa.Column("milestone", sa.String(length=200), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("offset_days", sa.Integer(), nullable=False),
        sa.Column("duration_days", sa.Integer(), nullable=False),
        sa.Column("hours", domain.ExactDecimal(), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["project_templates.id"],
            name=op.f("fk_template_tasks_template_id_project_templates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template_tasks")),
        sa.UniqueConstraint(
            "template_id", "name", name=op.f("uq_template_tasks_template_id_name")
        ),
    )
    with op.batch_alter_table("template_tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_template_tasks_template_id"), ["template_id"], unique=False
        )

    op.create_table(
        "deal_stage_changes",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("deal_id", sa.String(), nullable=False),
        sa.Column("from_stage_id", sa.String(), nullable=True),
        sa.Column("to_stage_id", sa.String(), nullable=False),
        sa.Column("changed_at", domain.UTCDateTime(), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_deal_stage_changes_deal_id_deals")
        ),
        sa.ForeignKeyConstraint(
            ["from_stage_id"],
            ["stages.id"],
            name=op.f("fk_deal_stage_changes_from_stage_id_stages"),
        ),
        sa.ForeignKeyConstraint(
            ["to_stage_id"],
            ["stages.id"],
            name=op.f("fk_deal_stage_changes_to_stage_id_stages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_stage_changes")),
    )
    with op.batch_alter_table("deal_stage_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deal_stage_changes_deal_id"), ["deal_id"], unique=False
        )

    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("client_id", sa.String(), nullable=True),
        sa.Column("deal_id", sa.String(), nullable=True),
        sa.Column("template_id", sa.String(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("budget_hours", domain.ExactDecimal(), nullable=False),
        sa.Column("budget_amount", domain.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("team_explanation", domain.JSONDoc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_projects_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_projects_deal_id_deals")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["project_templates.id"],
            name=op.f("fk_projects_template_id_project_templates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_projects_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_projects_deal_id"), ["deal_id"], unique=False
        )

    op.create_table(
        "allocations",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("expert_id", sa.String(), nullable=False),
        sa.Column("project_id", sa.String(), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("hours_per_week", domain.ExactDecimal(), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["experts.id"], name=op.f("fk_allocations_expert_id_experts")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_allocations_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
    )
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_allocations_expert_id"), ["expert_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_allocations_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "feedback",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("project_id", sa.String(), nullable=True),
        sa.Column("client_id", sa.String(), nullable=True),
        sa.Column("contact_id", sa.String(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(), nullable=False),
        sa.Column("received_at", domain.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "score >= 0 AND score <= 10", name=op.f("ck_feedback_score")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_feedback_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_feedback_contact_id_contacts"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_feedback_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(), nullable=True),
        sa.Column("project_id", sa.String(), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tax_rate", domain.ExactDecimal(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_invoices_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_invoices_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoices_client_id"), ["client_id"], unique=False
        )

    op.create_table(
        "milestones",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("project_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("amount", domain.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reached_at", domain.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_milestones_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestones")),
    )
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_milestones_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "project_members",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("project_id", sa.String(), nullable=False),
        sa.Column("expert_id", sa.String(), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["experts.id"],
            name=op.f("fk_project_members_expert_id_experts"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_members_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_members")),
        sa.UniqueConstraint(
            "project_id",
            "expert_id",
            "role",
            name=op.f("uq_project_members_project_id_expert_id_role"),
        ),
    )
    with op.batch_alter_table("project_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_members_expert_id"), ["expert_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_project_members_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "invoice_lines",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("invoice_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("quantity", domain.ExactDecimal(), nullable=False),
        sa.Column("unit_price", domain.ExactDecimal(), nullable=False),
        sa.Column("amount", domain.ExactDecimal(), nullable=False),
        sa.Column("milestone_id", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_lines_invoice_id_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["milestones.id"],
            name=op.f("fk_invoice_lines_milestone_id_milestones"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
        sa.UniqueConstraint(
            "invoice_id", "position", name=op.f("uq_invoice_lines_invoice_id_position")
        ),
    )
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_lines_invoice_id"), ["invoice_id"], unique=False
        )

    op.create_table(
        "payments",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("invoice_id", sa.String(), nullable=False),
        sa.Column("amount", domain.ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid_at", domain.UTCDateTime(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_payments_invoice_id_invoices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payments_invoice_id"), ["invoice_id"], unique=False
        )

    op.create_table(
        "tasks",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("project_id", sa.String(), nullable=False),
        sa.Column("milestone_id", sa.String(), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("assignee_id", sa.String(), nullable=True),
        sa.Column("estimate_hours", domain.ExactDecimal(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["experts.id"], name=op.f("fk_tasks_assignee_id_experts")
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["milestones.id"],
            name=op.f("fk_tasks_milestone_id_milestones"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_tasks_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tasks_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "time_entries",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("expert_id", sa.String(), nullable=True),
        sa.Column("project_id", sa.String(), nullable=True),
        sa.Column("task_id", sa.String(), nullable=True),
        sa.Column("started_at", domain.UTCDateTime(), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("billable", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["experts.id"],
            name=op.f("fk_time_entries_expert_id_experts"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_time_entries_project_id_projects"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_time_entries_task_id_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_entries")),
    )
    with op.batch_alter_table("time_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_time_entries_expert_id"), ["expert_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_time_entries_project_id"), ["project_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("time_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_time_entries_project_id"))
        batch_op.drop_index(batch_op.f("ix_time_entries_expert_id"))

    op.drop_table("time_entries")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_project_id"))

    op.drop_table("tasks")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_invoice_id"))

    op.drop_table("payments")
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_lines_invoice_id"))

    op.drop_table("invoice_lines")
    with op.batch_alter_table("project_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_members_project_id"))
        batch_op.drop_index(batch_op.f("ix_project_members_expert_id"))

    op.drop_table("project_members")
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestones_project_id"))

    op.drop_table("milestones")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_client_id"))

    op.drop_table("invoices")
    op.drop_table("feedback")
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allocations_project_id"))
        batch_op.drop_index(batch_op.f("ix_allocations_expert_id"))

    op.drop_table("allocations")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_deal_id"))
        batch_op.drop_index(batch_op.f("ix_projects_client_id"))

    op.drop_table("projects")
    with op.batch_alter_table("deal_stage_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deal_stage_changes_deal_id"))

    op.drop_table("deal_stage_changes")
    with op.batch_alter_table("template_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_template_tasks_template_id"))

    op.drop_table("template_tasks")
    with op.batch_alter_table("template_milestones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_template_milestones_template_id"))

    op.drop_table("template_milestones")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deals_stage_id"))
        batch_op.drop_index(batch_op.f("ix_deals_client_id"))

    op.drop_table("deals")
    with op.batch_alter_table("stages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stages_pipeline_id"))

    op.drop_table("stages")
    with op.batch_alter_table("service_roles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_roles_service_id"))

    op.drop_table("service_roles")
    with op.batch_alter_table("project_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_templates_service_id"))

    op.drop_table("project_templates")
    with op.batch_alter_table("outbox_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_deliveries_status"))

    op.drop_table("outbox_deliveries")
    with op.batch_alter_table("expert_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_identities_expert_id"))

    op.drop_table("expert_identities")
    with op.batch_alter_table("expert_competencies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_competencies_expert_id"))

    op.drop_table("expert_competencies")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_email"))
        batch_op.drop_index(batch_op.f("ix_contacts_client_id"))

    op.drop_table("contacts")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificates_expert_id"))

    op.drop_table("certificates")
    op.drop_table("webhooks")
    op.drop_table("webhook_receipts")
    op.drop_table("stream_state")
    op.drop_table("services")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_connection"))

    op.drop_table("runs")
    op.drop_table("record_hashes")
    op.drop_table("rate_budgets")
    op.drop_table("quarantine")
    op.drop_table("plugin_state")
    op.drop_table("pipelines")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_events_type"))

    op.drop_table("outbox_events")
    op.drop_table("locks")
    with op.batch_alter_table("external_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_external_links_internal_id"))

    op.drop_table("external_links")
    op.drop_table("experts")
    op.drop_table("credentials")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clients_name"))

    op.drop_table("clients")
    op.drop_table("action_journal")
