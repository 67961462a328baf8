"""The error answers the fake gives, shaped as Jira shapes them."""

from __future__ import annotations

from typing import Any

__all__ = ["FakeJiraError", "error_body"]


def error_body(
    messages: list[str] | None = None, errors: dict[str, str] | None = None
) -> dict[str, Any]:
    """Return an ``ErrorCollection`` body."""
    return {"errorMessages": messages or [], "errors": errors or {}}


class FakeJiraError(Exception):
    """Raised by the fake's logic; the routes turn it into an HTTP answer.

    Attributes:
        status: the HTTP status to answer with.
        body: the ``ErrorCollection`` to answer with.
    """

    def __init__(
        self,
        status: int,
        messages: list[str] | None = None,
        errors: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body = error_body(messages, errors)
        super().__init__(f"Fake Jira answers {status}: {self.body}.")
