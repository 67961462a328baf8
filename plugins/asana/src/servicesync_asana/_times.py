"""Asana's date-time format, ``2024-01-05T10:00:00.000Z``."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["format_time", "parse_time"]


def format_time(moment: datetime) -> str:
    """Return ``moment`` in UTC with milliseconds and a ``Z``, as Asana writes it."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    """Parse an Asana date-time such as ``2024-01-05T10:00:00.000Z``.

    Raises:
        ValueError: the text is not an ISO 8601 date-time with an offset.
    """
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"The time {text!r} carries no offset.")
    return parsed.astimezone(UTC)
