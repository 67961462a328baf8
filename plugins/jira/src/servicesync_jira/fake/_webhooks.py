"""Jira's webhook envelope: a signature scheme plus a delivery identifier."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

__all__ = ["DELIVERY_HEADER", "JiraWebhookScheme"]

#: The header naming one delivery; a retry of it carries the same value.
DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"


class _Signed(Protocol):
    headers: dict[str, str]
    body: bytes


class _Scheme(Protocol):
    def prepare(self, payload: Mapping[str, Any], url: str, now: datetime) -> Any: ...


@dataclass(frozen=True)
class JiraWebhookScheme:
    """Signs with ``inner`` and adds ``X-Atlassian-Webhook-Identifier``."""

    inner: _Scheme
    next_id: Callable[[], str]

    def prepare(self, payload: Mapping[str, Any], url: str, now: datetime) -> Any:
        """Sign ``payload`` and stamp the delivery with a fresh identifier."""
        signed = self.inner.prepare(payload, url, now)
        signed.headers[DELIVERY_HEADER] = self.next_id()
        return signed
