"""Jira's own date-time format, ``2024-01-01T10:00:00.000+0000``."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["format_jira_time", "parse_jira_time", "to_epoch_ms"]


def format_jira_time(moment: datetime) -> str:
    """Return ``moment`` in Jira's format: milliseconds and a colon-less offset."""
    moment = moment.astimezone(UTC)
    return (
        moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
    )


def parse_jira_time(text: str) -> datetime:
    """Parse a Jira date-time such as ``2024-01-01T10:00:00.000+0000``.

    Raises:
        ValueError: the text is not a Jira date-time.
    """
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)


def to_epoch_ms(moment: datetime) -> int:
    """Return ``moment`` as milliseconds since the epoch, as JQL accepts."""
    return int(moment.timestamp() * 1000)
