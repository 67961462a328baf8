"""The shape of Trello's object ids."""

from __future__ import annotations

import re

__all__ = ["ID_PATTERN", "is_id"]

#: A Trello id: 24 hex digits, the first eight a creation time in seconds.
ID_PATTERN = re.compile(r"^[0-9a-f]{24}$")


def is_id(value: str | None) -> bool:
    """Return whether ``value`` has the shape of a Trello id."""
    return bool(value) and bool(ID_PATTERN.match(str(value)))
