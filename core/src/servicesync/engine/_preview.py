"""What a dry run hands a connector so that previewing a sync changes nothing."""

from __future__ import annotations

from servicesync.contract import PluginState

__all__ = ["PreviewState"]


class PreviewState:
    """A connection's plugin state that reads through and writes to memory only.

    Streams may keep notes while they read (the Bitrix24 deals stream keeps
    the ids it has seen to find deletions). A dry run must not keep those
    notes, or the real sync after it would believe work was done that was
    only previewed.
    """

    def __init__(self, stored: PluginState) -> None:
        self._stored = stored
        self._written: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        """Return what this dry run wrote under ``key``, else the stored value."""
        if key in self._written:
            return self._written[key]
        return self._stored.get(key)

    def put(self, key: str, value: str) -> None:
        """Keep ``value`` under ``key`` until the dry run ends."""
        self._written[key] = value
