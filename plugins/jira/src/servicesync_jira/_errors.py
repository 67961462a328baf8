"""Turning Jira's error answers into servicesync errors."""

from __future__ import annotations

import httpx
from servicesync.errors import FatalError, RecordError

__all__ = ["error_text", "raise_for_status"]


def error_text(response: httpx.Response) -> str:
    """Return Jira's error messages from an ``ErrorCollection`` body."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    parts = [str(m) for m in body.get("errorMessages", [])]
    parts += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
    return "; ".join(parts) or f"HTTP {response.status_code}"


def raise_for_status(response: httpx.Response, what: str) -> None:
    """Raise when ``response`` is not a success.

    Raises:
        RecordError: Jira refused this one object (400, 404, 409, 413).
        FatalError: any other refusal.
    """
    if response.is_success:
        return
    msg = f"Jira refused to {what} ({response.status_code}): {error_text(response)}."
    if response.status_code in (400, 404, 409, 413):
        raise RecordError(msg, service="jira", endpoint=response.request.url.path)
    raise FatalError(msg, service="jira", endpoint=response.request.url.path)
