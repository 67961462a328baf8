"""The error answers of the fake, worded and typed as Trello's are.

Trello answers most refusals with a short plain-text body (``invalid id``,
``invalid token``); only its rate-limit refusals are JSON.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, PlainTextResponse, Response

__all__ = ["FakeTrelloError", "rate_limited", "text_error"]


class FakeTrelloError(Exception):
    """Raised by the fake's logic; the routes answer it as Trello would.

    Attributes:
        status: the HTTP status.
        message: the plain-text body.
    """

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"Fake Trello answers {status}: {message}")


def text_error(status: int, message: str) -> Response:
    """Return a plain-text refusal such as ``400 invalid id``."""
    return PlainTextResponse(message, status_code=status)


def rate_limited(code: str) -> Response:
    """Return the 429 Trello sends when a key or token spent its window."""
    return JSONResponse(
        {"error": code, "message": "Rate limit exceeded"}, status_code=429
    )
