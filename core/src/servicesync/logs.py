"""Log set-up for the command line and the daemon, with secrets masked.

The library itself only creates loggers; handlers are added here, by the
application, as :func:`configure_logging`. Every record passes a filter that
masks the secret values the process has been told about, so that a token
that slips into a message or an exception still never reaches the output.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from servicesync.redaction import Redactor

__all__ = ["RedactingFilter", "configure_logging", "forget_secrets", "register_secrets"]

_redactor = Redactor()


def register_secrets(*values: str) -> None:
    """Mask ``values`` in every log record from now on."""
    _redactor.add(*values)


def forget_secrets() -> None:
    """Forget every registered secret; for tests that start afresh."""
    global _redactor
    _redactor = Redactor()


class RedactingFilter(logging.Filter):
    """Renders each record's message with secrets masked, and drops its args."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = _redactor.text(message)
        record.args = None
        if record.exc_text:
            record.exc_text = _redactor.text(record.exc_text)
        return True


#: Libraries that log the full URL of every request they send. URLs carry
#: credentials (a Bitrix24 webhook code, OAuth query parameters), so these
#: loggers mask known secrets in the record itself, before any handler,
#: whether or not :func:`configure_logging` was called.
THIRD_PARTY_URL_LOGGERS = ("httpx", "httpcore")


def _guard_third_party_loggers() -> None:
    for name in THIRD_PARTY_URL_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


_guard_third_party_loggers()


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["error"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(*, verbose: int = 0, json_lines: bool = False) -> None:
    """Send logs to standard error, masked, as text or as JSON lines.

    Args:
        verbose: 0 shows warnings, 1 information, 2 or more debugging.
        json_lines: write one JSON object per record instead of text.
    """
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if json_lines:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_servicesync", False)]:
        root.removeHandler(old)
    handler._servicesync = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
