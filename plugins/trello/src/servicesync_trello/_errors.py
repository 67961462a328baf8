"""Turning Trello's error answers into servicesync errors."""

from __future__ import annotations

import httpx
from servicesync.errors import FatalError, MalformedResponse, RecordError

__all__ = ["error_text", "malformed", "raise_for_status"]

_MAX_TEXT = 200


def error_text(response: httpx.Response) -> str:
    """Return Trello's reason: its plain text, or the JSON ``message``."""
    kind = response.headers.get("content-type", "")
    if "json" in kind:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            return str(body.get("message") or body.get("error") or body)[:_MAX_TEXT]
    return response.text.strip()[:_MAX_TEXT] or f"HTTP {response.status_code}"


def raise_for_status(response: httpx.Response, what: str) -> None:
    """Raise when ``response`` is not a success.

    Raises:
        RecordError: Trello refused this one object (400, 404, 409).
        FatalError: any other refusal.
    """
    if response.is_success:
        return
    msg = f"Trello refused to {what} ({response.status_code}): {error_text(response)}."
    endpoint = response.request.url.path
    if response.status_code in (400, 404, 409):
        raise RecordError(msg, service="trello", endpoint=endpoint)
    raise FatalError(msg, service="trello", endpoint=endpoint)


def malformed(what: str) -> MalformedResponse:
    """Return the error for an answer the API does not describe."""
    msg = f"Trello answered something its API does not describe: {what}."
    return MalformedResponse(msg, service="trello")
