"""Trello's object ids: 24 hex digits whose first eight are a creation time."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime

from servicesync import Clock

from servicesync_trello._ids import is_id

__all__ = ["IdFactory", "created_at", "is_id"]


def created_at(object_id: str) -> datetime:
    """Return the creation second an id carries."""
    return datetime.fromtimestamp(int(object_id[:8], 16), UTC)


class IdFactory:
    """Makes ids that sort in creation order, as Trello's do.

    An id is the creation second (8 hex digits), a per-fake machine part
    (10) and a counter (6), so ids made later always sort higher.
    """

    def __init__(self, clock: Clock, rng: random.Random) -> None:
        self._clock = clock
        self._machine = rng.getrandbits(40)
        self._counter = itertools.count(rng.getrandbits(16))

    def new(self) -> str:
        """Return a fresh id stamped with the clock's current second."""
        second = int(self._clock.now().timestamp())
        count = next(self._counter) % (1 << 24)
        return f"{second:08x}{self._machine:010x}{count:06x}"
