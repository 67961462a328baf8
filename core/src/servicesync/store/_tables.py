"""The sync ledger: the tables beside the domain that make syncing safe to repeat."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel, UniqueConstraint

from servicesync.domain._base import id_field, json_field, time_field
from servicesync.domain._columns import JSONDoc

__all__ = [
    "ActionJournalRow",
    "ConnectionControl",
    "CredentialRow",
    "ExternalLink",
    "LockRow",
    "OutboxDelivery",
    "OutboxEvent",
    "PluginStateRow",
    "QuarantineRow",
    "RateBudgetRow",
    "RecordHash",
    "RunRow",
    "StreamStateRow",
    "WebhookReceipt",
    "WebhookRow",
]


class ExternalLink(SQLModel, table=True):
    """Ties a record of a connection to the domain row it became."""

    __tablename__ = "external_links"
    __table_args__ = (UniqueConstraint("connection", "record_type", "external_id"),)

    id: str = id_field()
    connection: str = Field(max_length=100)
    record_type: str = Field(max_length=64)
    external_id: str = Field(max_length=200)
    internal_id: str = Field(max_length=26, index=True)
    created_at: datetime = time_field()


class ActionJournalRow(SQLModel, table=True):
    """One write to a service: pending before the call, then confirmed or failed."""

    __tablename__ = "action_journal"

    dedup_key: str = Field(primary_key=True, max_length=200)
    connection: str = Field(max_length=100)
    action: str = Field(max_length=100)
    status: str = Field(default="pending", max_length=16)
    params: dict[str, Any] = json_field(dict)
    result: dict[str, Any] | None = Field(default=None, sa_type=JSONDoc, nullable=True)
    error: str | None = None
    attempts: int = 0
    created_at: datetime = time_field()
    updated_at: datetime = time_field()


class StreamStateRow(SQLModel, table=True):
    """Where a stream of a connection stands (a ``StreamState`` as JSON)."""

    __tablename__ = "stream_state"

    connection: str = Field(primary_key=True, max_length=100)
    stream: str = Field(primary_key=True, max_length=100)
    state: dict[str, Any] = json_field(dict)
    updated_at: datetime = time_field()


class RunRow(SQLModel, table=True):
    """One sync run and what it did."""

    __tablename__ = "runs"

    id: str = id_field()
    connection: str = Field(max_length=100, index=True)
    stream: str | None = Field(default=None, max_length=100)
    status: str = Field(default="running", max_length=16)
    read: int = 0
    written: int = 0
    skipped_unchanged: int = 0
    quarantined: int = 0
    errors: int = 0
    message: str | None = None
    trigger: str | None = Field(default=None, max_length=250)
    worker: str | None = Field(default=None, max_length=100)
    started_at: datetime = time_field()
    finished_at: datetime | None = time_field(nullable=True)


class RecordHash(SQLModel, table=True):
    """The hash of the last payload seen for a record, to skip unchanged ones."""

    __tablename__ = "record_hashes"

    connection: str = Field(primary_key=True, max_length=100)
    stream: str = Field(primary_key=True, max_length=100)
    external_id: str = Field(primary_key=True, max_length=200)
    hash: str = Field(max_length=64)
    seen_at: datetime = time_field()


class OutboxEvent(SQLModel, table=True):
    """A domain event waiting to be handed to plugins."""

    __tablename__ = "outbox_events"

    id: str = id_field()
    type: str = Field(max_length=100, index=True)
    payload: dict[str, Any] = json_field(dict)
    created_at: datetime = time_field()


class OutboxDelivery(SQLModel, table=True):
    """The handing of one event to one plugin; ``dead`` after too many failures."""

    __tablename__ = "outbox_deliveries"

    event_id: str = Field(primary_key=True, foreign_key="outbox_events.id")
    plugin: str = Field(primary_key=True, max_length=100)
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime = time_field()
    claimed_until: datetime | None = time_field(nullable=True)
    last_error: str | None = None


class QuarantineRow(SQLModel, table=True):
    """A record that could not be taken in, kept raw with the reason."""

    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("connection", "stream", "external_id"),)

    id: str = id_field()
    connection: str = Field(max_length=100)
    stream: str = Field(max_length=100)
    external_id: str = Field(max_length=200)
    payload: dict[str, Any] = json_field(dict)
    reason: str = ""
    first_seen: datetime = time_field()
    last_seen: datetime = time_field()
    retried: int = 0
    resolved: bool = False


class CredentialRow(SQLModel, table=True):
    """A secret of a connection, encrypted with Fernet."""

    __tablename__ = "credentials"

    connection: str = Field(primary_key=True, max_length=100)
    name: str = Field(primary_key=True, max_length=100)
    ciphertext: str
    updated_at: datetime = time_field()


class RateBudgetRow(SQLModel, table=True):
    """A shared leaky bucket: its level at ``updated_at`` (clock seconds)."""

    __tablename__ = "rate_budgets"

    key: str = Field(primary_key=True, max_length=200)
    level: float = 0.0
    updated_at: float = 0.0


class WebhookReceipt(SQLModel, table=True):
    """A webhook delivery already taken in, so a replay is recognised."""

    __tablename__ = "webhook_receipts"

    connection: str = Field(primary_key=True, max_length=100)
    delivery_key: str = Field(primary_key=True, max_length=200)
    received_at: datetime = time_field()


class WebhookRow(SQLModel, table=True):
    """A webhook registered at a service; its secret is encrypted."""

    __tablename__ = "webhooks"
    __table_args__ = (UniqueConstraint("connection", "external_id"),)

    id: str = id_field()
    connection: str = Field(max_length=100)
    external_id: str = Field(max_length=200)
    url: str
    secret_ciphertext: str | None = None
    expires_at: datetime | None = time_field(nullable=True)
    created_at: datetime = time_field()


class PluginStateRow(SQLModel, table=True):
    """A value a plugin keeps for one connection."""

    __tablename__ = "plugin_state"

    connection: str = Field(primary_key=True, max_length=100)
    key: str = Field(primary_key=True, max_length=200)
    value: str


class LockRow(SQLModel, table=True):
    """A named lock held by ``owner`` until ``expires_at``."""

    __tablename__ = "locks"

    name: str = Field(primary_key=True, max_length=200)
    owner: str = Field(max_length=200)
    expires_at: datetime = time_field()


class ConnectionControl(SQLModel, table=True):
    """An operator's switch on a connection, honoured without a restart."""

    __tablename__ = "connection_controls"

    connection: str = Field(primary_key=True, max_length=100)
    paused: bool = False
    read_only: bool = False
    note: str | None = None
    updated_at: datetime = time_field()
