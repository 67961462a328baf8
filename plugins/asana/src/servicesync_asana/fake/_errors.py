"""The error answers the fake gives, shaped as Asana shapes them."""

from __future__ import annotations

from typing import Any

__all__ = ["FakeAsanaError", "error_body"]

_HELP = "See the Asana API reference on errors for what this status means."


def error_body(message: str, status: int) -> dict[str, Any]:
    """Return an ``{"errors": [...]}`` body; a 5xx also carries a phrase."""
    error: dict[str, Any] = {"message": message, "help": _HELP}
    if status >= 500:
        error["phrase"] = "fake quiet otter naps briefly"
    return {"errors": [error]}


class FakeAsanaError(Exception):
    """Raised by the fake's logic; the routes answer it as Asana would.

    Attributes:
        status: the HTTP status to answer with.
        body: the error body.
    """

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        self.status = status
        self.body = {**error_body(message, status), **extra}
        super().__init__(f"Fake Asana answers {status}: {message}")
