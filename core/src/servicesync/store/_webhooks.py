"""The webhooks servicesync registered at services, and their secrets.

A row names one webhook of one connection: where the service posts, when it
expires. A secret of the webhook's own is encrypted with the store's
:class:`~servicesync.store.SecretBox` before it is written, as the
credential vault does, so the table never holds one in clear; listing rows
decrypts nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from servicesync.contract import RegisteredWebhook
from servicesync.domain import new_id
from servicesync.logs import register_secrets
from servicesync.store._dialect import insert_for, table_of
from servicesync.store._secrets import SecretBox
from servicesync.store._tables import WebhookRow

__all__ = [
    "StoredWebhook",
    "delete_webhooks",
    "list_webhooks",
    "save_webhooks",
    "set_expiry",
    "webhook_secret",
]

_webhooks = table_of(WebhookRow)

#: What a registration again at the same service id changes.
_REGISTERED_AGAIN = ("url", "secret_ciphertext", "expires_at")


@dataclass(frozen=True, slots=True)
class StoredWebhook:
    """A webhook as the store knows it; its secret stays encrypted.

    Attributes:
        connection: the connection it belongs to.
        external_id: the service's name for it.
        url: where the service posts.
        expires_at: when it stops unless refreshed; ``None`` when never.
        created_at: when servicesync first registered it.
        has_secret: whether a secret of its own is stored.
    """

    connection: str
    external_id: str
    url: str
    expires_at: datetime | None
    created_at: datetime
    has_secret: bool

    def registered(self) -> RegisteredWebhook:
        """Return it as a registrar takes it, without its secret."""
        return RegisteredWebhook(self.external_id, self.url, self.expires_at)


def save_webhooks(
    tx: sa.Connection,
    box: SecretBox,
    connection: str,
    webhooks: Sequence[RegisteredWebhook],
    now: datetime,
) -> None:
    """Insert or update ``webhooks`` by their service id, secrets encrypted.

    A webhook saved again keeps its first ``created_at``; its URL, expiry
    and secret are replaced by the new ones.
    """
    if not webhooks:
        return
    rows = [
        {
            "id": new_id(),
            "connection": connection,
            "external_id": hook.external_id,
            "url": hook.url,
            "secret_ciphertext": box.encrypt(hook.secret) if hook.secret else None,
            "expires_at": hook.expires_at,
            "created_at": now,
        }
        for hook in webhooks
    ]
    statement = insert_for(tx, _webhooks)
    statement = statement.on_conflict_do_update(
        index_elements=["connection", "external_id"],
        set_={name: statement.excluded[name] for name in _REGISTERED_AGAIN},
    )
    tx.execute(statement, rows)


def list_webhooks(tx: sa.Connection, connection: str) -> list[StoredWebhook]:
    """Return the webhooks stored for ``connection``, by service id."""
    query = (
        sa.select(_webhooks)
        .where(_webhooks.c.connection == connection)
        .order_by(_webhooks.c.external_id)
    )
    return [
        StoredWebhook(
            connection=row.connection,
            external_id=row.external_id,
            url=row.url,
            expires_at=row.expires_at,
            created_at=row.created_at,
            has_secret=row.secret_ciphertext is not None,
        )
        for row in tx.execute(query)
    ]


def webhook_secret(
    tx: sa.Connection, box: SecretBox, connection: str, external_id: str
) -> str | None:
    """Return the decrypted secret of one webhook, or ``None`` without one.

    The value is masked in every log record from now on.
    """
    query = sa.select(_webhooks.c.secret_ciphertext).where(
        _webhooks.c.connection == connection,
        _webhooks.c.external_id == external_id,
    )
    token = tx.execute(query).scalar_one_or_none()
    if token is None:
        return None
    value = box.decrypt(token)
    register_secrets(value)
    return value


def set_expiry(
    tx: sa.Connection,
    connection: str,
    external_id: str,
    expires_at: datetime | None,
) -> None:
    """Record a webhook's new expiry, after the service renewed it."""
    tx.execute(
        sa.update(_webhooks)
        .where(
            _webhooks.c.connection == connection,
            _webhooks.c.external_id == external_id,
        )
        .values(expires_at=expires_at)
    )


def delete_webhooks(
    tx: sa.Connection, connection: str, external_ids: Sequence[str]
) -> int:
    """Forget the named webhooks of ``connection``; return how many went."""
    result = tx.execute(
        sa.delete(_webhooks).where(
            _webhooks.c.connection == connection,
            _webhooks.c.external_id.in_(list(external_ids)),
        )
    )
    return int(result.rowcount or 0)
