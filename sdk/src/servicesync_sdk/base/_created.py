"""What a bulk create has made so far, remembered between attempts."""

from __future__ import annotations

import json

from servicesync.contract import PluginState
from servicesync.dedup import dedup_token

__all__ = ["CreatedItems"]


class CreatedItems:
    """The items of a bulk create known to exist, per deduplication key.

    A bulk call may half fail or lose its answer. Keeping, in the
    connection's plugin state, each item's id as soon as the service shows
    it lets a retry send only the rest, and spares it a search for the
    items already seen.

    Args:
        state: the connection's plugin state.
        kind: what the items are (``tasks``, ``cards``), to name the entry.
    """

    def __init__(self, state: PluginState, kind: str) -> None:
        self.state = state
        self.kind = kind

    def get(self, dedup_key: str) -> dict[str, str]:
        """Return the item ids known for ``dedup_key``, by the item's ref."""
        raw = self.state.get(self._key(dedup_key))
        return dict(json.loads(raw)) if raw else {}

    def put(self, dedup_key: str, known: dict[str, str]) -> None:
        """Remember the item ids known for ``dedup_key``, by the item's ref."""
        self.state.put(self._key(dedup_key), json.dumps(known))

    def _key(self, dedup_key: str) -> str:
        return f"{self.kind}:{dedup_token(dedup_key)}"
