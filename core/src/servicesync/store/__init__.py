"""The store: domain tables and the sync ledger, on SQLite or PostgreSQL.

Open it with :func:`open_store`, which migrates the database to the schema
this version ships. The schema comes only from the Alembic migrations in
``servicesync/store/migrations``; nothing calls ``create_all``.
"""

from __future__ import annotations

from servicesync.store._controls import Control
from servicesync.store._engine import make_engine, redact_url
from servicesync.store._journal import JournalEntry, RunCounts
from servicesync.store._ledger import StreamPosition
from servicesync.store._migrate import (
    current_revision,
    head_revision,
    is_current,
    upgrade,
)
from servicesync.store._outbox import ClaimedEvent
from servicesync.store._schema import metadata
from servicesync.store._secrets import KEY_ENV, KEY_FILE_ENV, SecretBox
from servicesync.store._store import Store, open_store
from servicesync.store._tables import (
    ActionJournalRow,
    CredentialRow,
    ExternalLink,
    LockRow,
    OutboxDelivery,
    OutboxEvent,
    PluginStateRow,
    QuarantineRow,
    RateBudgetRow,
    RecordHash,
    RunRow,
    StreamStateRow,
    WebhookReceipt,
    WebhookRow,
)
from servicesync.store._webhooks import StoredWebhook

__all__ = [
    "KEY_ENV",
    "KEY_FILE_ENV",
    "ActionJournalRow",
    "ClaimedEvent",
    "Control",
    "CredentialRow",
    "ExternalLink",
    "JournalEntry",
    "LockRow",
    "OutboxDelivery",
    "OutboxEvent",
    "PluginStateRow",
    "QuarantineRow",
    "RateBudgetRow",
    "RecordHash",
    "RunCounts",
    "RunRow",
    "SecretBox",
    "Store",
    "StoredWebhook",
    "StreamPosition",
    "StreamStateRow",
    "WebhookReceipt",
    "WebhookRow",
    "current_revision",
    "head_revision",
    "is_current",
    "make_engine",
    "metadata",
    "open_store",
    "redact_url",
    "upgrade",
]
