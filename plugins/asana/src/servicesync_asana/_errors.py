"""Turning Asana's error answers into servicesync errors."""

from __future__ import annotations

from typing import Any

import httpx
from servicesync.errors import FatalError, RecordError

__all__ = ["error_text", "raise_for_status", "refusal"]


def error_text(body: Any, status: int) -> str:
    """Return the messages of an Asana ``{"errors": [...]}`` body."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return f"HTTP {status}"
    messages = [str(e.get("message")) for e in errors if isinstance(e, dict)]
    return "; ".join(m for m in messages if m) or f"HTTP {status}"


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def refusal(status: int, body: Any, what: str, endpoint: str = "") -> Exception:
    """Return the error for an answer of ``status`` to the call that did ``what``.

    A 400 or 404 concerns the one object asked about, so the run can skip it
    (:class:`~servicesync.errors.RecordError`); anything else needs a person
    (a 402 means the workspace's plan lacks the feature).
    """
    msg = f"Asana refused to {what} ({status}): {error_text(body, status)}."
    if status in (400, 404, 409):
        return RecordError(msg, service="asana", endpoint=endpoint)
    return FatalError(msg, service="asana", endpoint=endpoint)


def raise_for_status(response: httpx.Response, what: str) -> None:
    """Raise the matching servicesync error unless ``response`` succeeded."""
    if response.is_success:
        return
    raise refusal(
        response.status_code, _body(response), what, response.request.url.path
    )
