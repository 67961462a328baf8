"""A fake Trello for tests and demos.

Example:
    >>> fake = factory(clock=VirtualClock(), seed=1)  # doctest: +SKIP
    >>> settings = fake.connection_settings()
"""

from __future__ import annotations

from typing import Any

from servicesync import Clock

from servicesync_trello.fake._errors import FakeTrelloError
from servicesync_trello.fake._ids import created_at, is_id
from servicesync_trello.fake._service import TrelloFake
from servicesync_trello.fake._state import format_date, parse_date

__all__ = [
    "FakeTrelloError",
    "TrelloFake",
    "created_at",
    "factory",
    "format_date",
    "is_id",
    "parse_date",
]


def factory(
    *, clock: Clock | None = None, seed: int | None = None, **options: Any
) -> TrelloFake:
    """Build a fake with one application, a Workspace and a bot member's token.

    :meth:`TrelloFake.connection_settings` then gives the settings of a
    connection that reaches it.
    """
    fake = TrelloFake(clock=clock, seed=seed, **options)
    fake.add_default_account()
    return fake
