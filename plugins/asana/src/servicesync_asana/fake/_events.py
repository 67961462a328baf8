"""The event feed of the fake: what changed, per watching resource, by sync token."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from servicesync import Clock

from servicesync_asana.fake._errors import FakeAsanaError

__all__ = ["EVENTS_PER_CALL", "EventLog"]

#: Events one call returns at most; ``has_more`` says more are waiting.
EVENTS_PER_CALL = 100


@dataclass(frozen=True)
class _Entry:
    watchers: frozenset[str]
    event: dict[str, Any]


class EventLog:
    """Every event, and the sync tokens handed out to read them.

    A token marks a place in the log for one resource. It lasts ``ttl``
    seconds; an unknown or expired token, or none, answers 412 with a fresh
    token, as Asana does.

    Args:
        clock: the fake's clock.
        rng: the fake's seeded random source, for token text.
        ttl: seconds a token stays valid.
    """

    def __init__(self, clock: Clock, rng: random.Random, ttl: float = 86_400.0) -> None:
        self.clock = clock
        self.rng = rng
        self.ttl = ttl
        self.entries: list[_Entry] = []
        self.tokens: dict[str, tuple[str, int, float]] = {}

    def record(self, event: dict[str, Any], watchers: set[str]) -> None:
        """Append an event seen by the resources ``watchers``."""
        self.entries.append(_Entry(frozenset(watchers), event))

    def issue(self, resource: str, position: int | None = None) -> str:
        """Return a token that lists ``resource``'s events after ``position``."""
        token = f"{self.rng.getrandbits(128):032x}"
        at = len(self.entries) if position is None else position
        self.tokens[token] = (resource, at, self.clock.now().timestamp())
        return token

    def expire(self) -> None:
        """Forget every token, as if a day had passed."""
        self.tokens.clear()

    def read(self, resource: str, token: str | None) -> dict[str, Any]:
        """Return the next events of ``resource`` after ``token``.

        Raises:
            FakeAsanaError: 412 with a fresh ``sync`` token when ``token`` is
                missing, unknown, for another resource or expired.
        """
        known = self.tokens.get(token or "")
        now = self.clock.now().timestamp()
        if known is None or known[0] != resource or now - known[2] > self.ttl:
            msg = "Sync token missing or too old; read everything again, then sync."
            raise FakeAsanaError(412, msg, sync=self.issue(resource))
        found: list[dict[str, Any]] = []
        position = known[1]
        while position < len(self.entries) and len(found) < EVENTS_PER_CALL:
            entry = self.entries[position]
            position += 1
            if resource in entry.watchers:
                found.append(entry.event)
        more = any(resource in e.watchers for e in self.entries[position:])
        return {"data": found, "sync": self.issue(resource, position), "has_more": more}
