"""An action that finds what an earlier attempt made before it creates anything."""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import TypeVar

from pydantic import BaseModel
from servicesync.contract import Action, ActionResult
from servicesync.dedup import dedup_token, marker
from servicesync.errors import RetryableError

__all__ = ["FindOrCreateAction"]

logger = logging.getLogger(__name__)

P = TypeVar("P", bound=BaseModel)


class FindOrCreateAction(Action[P]):
    """A create that leaves exactly one object per deduplication key.

    The key becomes a short token (:func:`servicesync.dedup.dedup_token`).
    A subclass writes the token into what it creates (a label, a name suffix,
    or the :func:`~servicesync.dedup.marker` text in a description) and knows
    how to search for it:

    * :meth:`find_marked` looks for an object carrying the token;
    * :meth:`create` makes the object, carrying the token.

    :meth:`execute` looks first, creates only when nothing was found, and
    when the create's answer is lost (a timeout or a 5xx), looks once more
    before giving up, so the next attempt finds what this one made.
    """

    @abstractmethod
    async def find_marked(self, token: str, params: P) -> ActionResult | None:
        """Return the object carrying ``token``, or ``None``."""

    @abstractmethod
    async def create(self, token: str, mark: str, params: P) -> ActionResult:
        """Create the object, leaving ``token`` (or its text ``mark``) on it."""

    async def find(self, dedup_key: str, params: P) -> ActionResult | None:
        """Return what an earlier attempt with ``dedup_key`` made, or ``None``."""
        return await self.find_marked(dedup_token(dedup_key), params)

    async def execute(self, dedup_key: str, params: P) -> ActionResult:
        """Return the object for ``dedup_key``, creating it if none exists."""
        token = dedup_token(dedup_key)
        found = await self.find_marked(token, params)
        if found is not None:
            logger.debug("Action %s found %s already made", self.name, token)
            return found
        try:
            return await self.create(token, marker(token), params)
        except RetryableError:
            # The service may have applied the create and lost the answer.
            found = await self._find_after_failure(token, params)
            if found is None:
                raise
            logger.info("Action %s recovered %s after a lost answer", self.name, token)
            return found

    async def _find_after_failure(self, token: str, params: P) -> ActionResult | None:
        try:
            return await self.find_marked(token, params)
        except RetryableError:
            return None
