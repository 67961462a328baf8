"""Renewing webhooks before the services let them expire.

Some services drop a webhook after a while unless it is renewed (Jira's
dynamic webhooks live 30 days). The store knows when each registered
webhook expires; this asks the connection's registrar to renew those due,
and records their new expiry. The command line renews on request, the
daemon on its own, some days ahead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from servicesync.contract import RegisteredWebhook
from servicesync.engine._engine import Engine
from servicesync.store import StoredWebhook

__all__ = ["Renewal", "renew_webhooks"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Renewal:
    """What a renewal did: the webhooks renewed, and those the service lost."""

    due: list[StoredWebhook] = field(default_factory=list)
    renewed: list[RegisteredWebhook] = field(default_factory=list)

    @property
    def lost(self) -> list[str]:
        """Ids of due webhooks the service no longer holds."""
        done = {hook.external_id for hook in self.renewed}
        return [hook.external_id for hook in self.due if hook.external_id not in done]


async def renew_webhooks(
    engine: Engine, connection: str, *, within: timedelta | None = None
) -> Renewal:
    """Renew the connection's expiring webhooks, or those due ``within`` from now.

    A connection without expiring webhooks costs no call to its service.
    """
    store = engine.store
    hooks = [h for h in store.webhooks(connection) if h.expires_at is not None]
    if within is not None:
        deadline = store.now() + within
        hooks = [
            h for h in hooks if h.expires_at is not None and h.expires_at <= deadline
        ]
    if not hooks:
        return Renewal()
    registrar = engine.connector(connection).webhook_registrar()
    if registrar is None:
        logger.warning(
            "%s holds expiring webhooks but its connector can no longer renew them.",
            connection,
        )
        return Renewal(due=hooks)
    renewed = list(await registrar.refresh([h.registered() for h in hooks]))
    for hook in renewed:
        store.renew_webhook(connection, hook.external_id, hook.expires_at)
    result = Renewal(due=hooks, renewed=renewed)
    if result.lost:
        logger.error(
            "%s: the service no longer holds webhooks %s; register them again.",
            connection,
            ", ".join(result.lost),
        )
    return result
